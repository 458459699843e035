/**
 * The outbox relay: delivers every customer notification (written in the same transaction as the
 * change it announces) to the notification webhook, in order per reservation, retrying until the
 * webhook takes it. Any number of worker replicas may run one: they skip each other's rows.
 */
import type { Kysely } from 'kysely';
import { postNotification, type Webhook } from '../activities/notification.js';
import { claimNextUnsent, markRefused, markSent } from '../db/repositories/notifications.js';
import { findContacts } from '../db/repositories/reservations.js';
import type { Database, Db, Notification } from '../db/schema.js';
import type { Logger } from '../shared/log.js';

const BATCH = 100;
/** Webhook calls in flight at once (each reservation has at most one in a batch). */
const PARALLEL = 16;

export interface NotificationRelay {
  stop(): Promise<void>;
}

/** Sends each notification (or logs it, without a webhook); returns the ids sent and the first refusal. */
async function send(db: Db, webhook: Webhook, rows: Notification[], log: Logger) {
  if (!webhook.webhookUrl) {
    for (const n of rows) log.info('notification (no NOTIFY_WEBHOOK_URL set)', { reservationId: n.reservation_id, kind: n.kind, message: n.message_en });
    return { sent: rows.map((n) => n.id), refused: [] as string[], error: undefined };
  }
  const contacts = new Map((await findContacts(db, [...new Set(rows.map((n) => n.reservation_id))])).map((c) => [c.reservation_id, c]));
  const sent: string[] = [];
  const refused: string[] = [];
  let error: unknown;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(PARALLEL, rows.length) }, async () => {
      while (next < rows.length) {
        const n = rows[next++]!;
        try {
          await postNotification(webhook, n, contacts.get(n.reservation_id));
          sent.push(n.id);
        } catch (err) {
          refused.push(n.id);
          error ??= err;
        }
      }
    }),
  );
  return { sent, refused, error };
}

export interface RelayPace {
  /** Poll interval while there is work. */
  intervalMs: number;
  /** Poll interval once the outbox stays empty (an idle worker costs next to nothing). */
  idleMs: number;
  /**
   * Notifications sent per second at most (0: no limit): a launch's burst of rejections is told
   * over the next seconds instead of taking CPU from the customers still being answered.
   */
  perSecond: number;
  /**
   * How long a batch stays claimed: its webhook calls (5 s each at most, 16 at a time) fit well
   * inside; a relay that dies leaves its batch to the others this much later.
   */
  claimMs: number;
}

const DEFAULT_PACE: RelayPace = { intervalMs: 250, idleMs: 2_000, perSecond: 200, claimMs: 60_000 };

/**
 * Polls the outbox: again after a batch that sent something (as soon as the pace allows), else
 * every `intervalMs`, slowing to every `idleMs` while it stays empty; after a refusal it backs off
 * up to a minute.
 */
export function startNotificationRelay(db: Kysely<Database>, webhook: Webhook, log: Logger, pace: Partial<RelayPace> = {}): NotificationRelay {
  const { intervalMs, idleMs, perSecond, claimMs } = { ...DEFAULT_PACE, ...pace };
  let stopped = false;
  let failures = 0;
  let quiet = intervalMs;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;

  // No transaction stays open across the webhook calls: rows are claimed, sent, then marked.
  const runBatch = async () => {
    const rows = await claimNextUnsent(db, BATCH, claimMs);
    const outcome = await send(db, webhook, rows, log);
    await markSent(db, outcome.sent);
    await markRefused(db, outcome.refused);
    return outcome;
  };

  const loop = (async () => {
    while (!stopped) {
      let delay: number;
      const started = Date.now();
      try {
        const { sent, error } = await runBatch();
        if (error) throw error;
        failures = 0;
        // The next notification of a reservation just served may be waiting behind it.
        quiet = sent.length > 0 ? intervalMs : Math.min(idleMs, quiet * 2);
        const paced = perSecond > 0 ? (sent.length * 1000) / perSecond - (Date.now() - started) : 0;
        delay = sent.length > 0 ? Math.max(0, paced) : quiet;
      } catch (err) {
        failures++;
        delay = Math.min(60_000, intervalMs * 2 ** failures);
        log.warn('notification relay: delivery failed, will retry', { error: err, retryInMs: delay });
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, delay);
      });
    }
  })();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await loop;
    },
  };
}

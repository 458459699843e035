/**
 * The outbox relay for reservations without a workflow (refused on arrival because the product was
 * sold out): their REJECTED notification is delivered here, by whichever worker replica locks it.
 */
import type { Kysely } from 'kysely';
import { sendNotifications, type NotificationDeps } from '../activities/notification.js';
import { lockUnsentWithoutWorkflow } from '../db/repositories/notifications.js';
import type { Database, Notification } from '../db/schema.js';
import type { Logger } from '../shared/log.js';

const BATCH = 100;

export interface NotificationRelay {
  stop(): Promise<void>;
}

/** Polls the outbox every `intervalMs`; after a webhook failure it backs off up to a minute. */
export function startNotificationRelay(
  db: Kysely<Database>,
  webhook: Omit<NotificationDeps, 'db'>,
  log: Logger,
  intervalMs = 1_000,
): NotificationRelay {
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;

  const runBatch = () =>
    db.transaction().execute(async (trx) => {
      const rows = await lockUnsentWithoutWorkflow(trx, BATCH);
      const byReservation = new Map<string, Notification[]>();
      for (const n of rows) byReservation.set(n.reservation_id, [...(byReservation.get(n.reservation_id) ?? []), n]);
      for (const pending of byReservation.values()) {
        // A refusal stops the batch but keeps what was sent before it (and the counted attempt).
        const failed = await sendNotifications(trx, webhook, pending, (f) => log.info('notification (no NOTIFY_WEBHOOK_URL set)', f)).then(
          () => undefined,
          (err: unknown) => err,
        );
        if (failed) return { failed, full: false };
      }
      return { failed: undefined, full: rows.length === BATCH };
    });

  const loop = (async () => {
    while (!stopped) {
      let delay = intervalMs;
      try {
        const { failed, full } = await runBatch();
        if (failed) throw failed;
        failures = 0;
        if (full) delay = 0;
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

/** Notification delivery: the outbox of a reservation, posted to the customer-notification webhook. */
import { createHmac } from 'node:crypto';
import { log } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import { markNotification, unsentNotifications } from '../db/repositories/notifications.js';
import { findContact } from '../db/repositories/reservations.js';
import type { Database, Db, Notification } from '../db/schema.js';

export interface NotificationDeps {
  db: Kysely<Database>;
  webhookUrl?: string;
  webhookSecret?: string;
}

export const SIGNATURE_HEADER = 'x-tshop-signature';

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Sends one reservation's outbox rows in order and marks each sent; throws at the first the webhook
 * refuses (it stays unsent, its attempt counted). Without a webhook URL, each is logged and marked sent.
 */
export async function sendNotifications(
  db: Db,
  { webhookUrl, webhookSecret }: Omit<NotificationDeps, 'db'>,
  pending: Notification[],
  logNotice: (fields: Record<string, unknown>) => void,
): Promise<number> {
  const first = pending[0];
  if (!first) return 0;
  const contact = await findContact(db, first.reservation_id);
  let sent = 0;
  for (const n of pending) {
    if (webhookUrl) {
      const body = JSON.stringify({
        id: n.id,
        reservationId: n.reservation_id,
        kind: n.kind,
        message: { ko: n.message_ko, en: n.message_en },
        customer: { id: contact?.customer_id ?? null, name: contact?.name ?? null, phone: contact?.phone ?? null },
        ...n.payload,
        createdAt: n.created_at.toISOString(),
      });
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-tshop-delivery': n.id };
      if (webhookSecret) headers[SIGNATURE_HEADER] = signBody(webhookSecret, body);
      const res = await fetch(webhookUrl, { method: 'POST', headers, body, signal: AbortSignal.timeout(5_000) }).catch(
        (err: Error) => ({ ok: false, status: 0, statusText: err.message }) as const,
      );
      if (!res.ok) {
        await markNotification(db, n.id, 'FAILED');
        throw new Error(`notification webhook answered ${res.status} ${res.statusText}`);
      }
    } else {
      logNotice({ reservationId: n.reservation_id, kind: n.kind, message: n.message_en });
    }
    await markNotification(db, n.id, 'SENT');
    sent++;
  }
  return sent;
}

export function createNotificationActivities({ db, ...webhook }: NotificationDeps) {
  return {
    /** Delivers a reservation's unsent notifications; retried by Temporal until every one is sent. */
    async deliverNotifications(input: { reservationId: string }): Promise<{ sent: number }> {
      const pending = await unsentNotifications(db, input.reservationId);
      const sent = await sendNotifications(db, webhook, pending, (f) => log.info('notification (no NOTIFY_WEBHOOK_URL set)', f));
      return { sent };
    },
  };
}

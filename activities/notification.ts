/** Notification delivery: the outbox of a reservation, posted to the customer-notification webhook. */
import { createHmac } from 'node:crypto';
import { log } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import { markNotification, unsentNotifications } from '../db/repositories/notifications.js';
import { findContact } from '../db/repositories/reservations.js';
import type { Database } from '../db/schema.js';

export interface NotificationDeps {
  db: Kysely<Database>;
  webhookUrl?: string;
  webhookSecret?: string;
}

export const SIGNATURE_HEADER = 'x-tshop-signature';

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function createNotificationActivities({ db, webhookUrl, webhookSecret }: NotificationDeps) {
  return {
    /** Delivers a reservation's unsent notifications; retried by Temporal until every one is sent. */
    async deliverNotifications(input: { reservationId: string }): Promise<{ sent: number }> {
      const pending = await unsentNotifications(db, input.reservationId);
      if (pending.length === 0) return { sent: 0 };
      const contact = await findContact(db, input.reservationId);
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
          log.info('notification (no NOTIFY_WEBHOOK_URL set)', { reservationId: n.reservation_id, kind: n.kind, message: n.message_en });
        }
        await markNotification(db, n.id, 'SENT');
        sent++;
      }
      return { sent };
    },
  };
}

/** Customer notifications: how one outbox row is posted to the notification webhook. */
import { createHmac } from 'node:crypto';
import type { Notification } from '../db/schema.js';

/** Where customer notifications go (NOTIFY_WEBHOOK_URL), and the key that signs them. */
export interface Webhook {
  webhookUrl?: string;
  webhookSecret?: string;
}

export const SIGNATURE_HEADER = 'x-tshop-signature';

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface Contact {
  customer_id: string;
  name: string | null;
  phone: string | null;
}

/** Posts one notification (signed, with the customer's contact); throws when the webhook refuses it. */
export async function postNotification({ webhookUrl, webhookSecret }: Webhook, n: Notification, contact: Contact | undefined): Promise<void> {
  if (!webhookUrl) throw new Error('no NOTIFY_WEBHOOK_URL');
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
  if (!res.ok) throw new Error(`notification webhook answered ${res.status} ${res.statusText}`);
}

export function createNotificationActivities() {
  return {
    /**
     * Reservations started before the outbox relay delivered every notification still call this
     * from their history; the relay (workers/notification-relay.ts) now does the delivering.
     */
    async deliverNotifications(_input: { reservationId: string }): Promise<{ sent: number }> {
      return { sent: 0 };
    },
  };
}

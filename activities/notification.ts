/** Customer notifications: how one outbox row is posted to the notification webhook. */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Notification } from '../db/schema.js';

/** Where customer notifications go (NOTIFY_WEBHOOK_URL), and the key that signs them (required with a URL). */
export interface Webhook {
  webhookUrl?: string;
  webhookSecret?: string;
}

export const SIGNATURE_HEADER = 'x-tshop-signature';
/** How old a signed delivery may be when it arrives; an older one is a replay and is refused. */
export const SIGNATURE_TOLERANCE_S = 300;

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the timestamp is signed with the body,
 * so a receiver that refuses old ones cannot be fed a captured delivery again later.
 */
export function signatureHeader(secret: string, body: string, at = Date.now()): string {
  const t = Math.floor(at / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/** What a receiver checks (and the tests do): the HMAC over the timestamp and body, and its age. */
export function verifySignature(secret: string, header: string | undefined, body: string, now = Date.now()): boolean {
  const parts = new Map((header ?? '').split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || Math.abs(now / 1000 - t) > SIGNATURE_TOLERANCE_S) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  const given = Buffer.from(v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface Contact {
  customer_id: string;
  name: string | null;
  phone: string | null;
}

/** Posts one notification (signed, with the customer's contact); throws when the webhook refuses it. */
export async function postNotification({ webhookUrl, webhookSecret }: Webhook, n: Notification, contact: Contact | undefined): Promise<void> {
  if (!webhookUrl) throw new Error('no NOTIFY_WEBHOOK_URL');
  // Customers' names and phone numbers never leave unsigned (the configuration refuses a URL without a secret).
  if (!webhookSecret) throw new Error('no NOTIFY_WEBHOOK_SECRET: notifications are never sent unsigned');
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
  headers[SIGNATURE_HEADER] = signatureHeader(webhookSecret, body);
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

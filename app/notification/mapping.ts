/** How the customer centre shows a notification: what was sent, with the customer's contact masked. */
import { deliveryState } from './repository.js';
import type { Notification } from '../../db/schema.js';

/** `01012345678` → `010****5678`: enough for the customer to recognise, nothing for anyone else. */
function maskPhone(phone: string): string {
  return phone.length <= 7 ? '*'.repeat(phone.length) : `${phone.slice(0, 3)}${'*'.repeat(phone.length - 7)}${phone.slice(-4)}`;
}

/** `홍길동` → `홍**`. */
function maskName(name: string): string {
  const chars = [...name];
  return chars[0] + '*'.repeat(Math.max(1, chars.length - 1));
}

type Recipient = { recipientNo?: unknown; templateParameter?: Record<string, unknown> };

/** What a message calls a customer without a name on file (notifier/templates.py): nobody's name, not masked. */
const NO_NAME = '고객';

/** The customer's name as the message was filled in with it, if it was. */
function nameIn(request: Record<string, unknown> | null): string | undefined {
  const recipients = Array.isArray(request?.recipientList) ? (request.recipientList as Recipient[]) : [];
  const name = recipients[0]?.templateParameter?.['고객명'];
  return typeof name === 'string' && name !== NO_NAME && name.length > 0 ? name : undefined;
}

/** The recorded Kakao request with every recipient's number and name masked (store staff read these too). */
function maskRequest(request: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!request) return null;
  const recipients = Array.isArray(request.recipientList) ? (request.recipientList as Recipient[]) : [];
  return {
    ...request,
    recipientList: recipients.map((r) => ({
      ...r,
      ...(typeof r.recipientNo === 'string' ? { recipientNo: maskPhone(r.recipientNo) } : {}),
      ...(r.templateParameter
        ? { templateParameter: { ...r.templateParameter, ...(typeof r.templateParameter['고객명'] === 'string' && r.templateParameter['고객명'] !== NO_NAME ? { 고객명: maskName(r.templateParameter['고객명']) } : {}) } }
        : {}),
    })),
  };
}

export function toNotificationDto(n: Notification) {
  const name = nameIn(n.request);
  const masked = (text: string) => (name ? text.replaceAll(name, maskName(name)) : text);
  return {
    id: n.id,
    kind: n.kind,
    status: deliveryState(n),
    channel: n.channel === 'kakao' || n.channel === 'sink' ? (n.channel as 'kakao' | 'sink') : null,
    templateCode: n.template_code,
    message: n.message_ko !== null && n.message_en !== null ? { ko: masked(n.message_ko), en: masked(n.message_en) } : null,
    request: maskRequest(n.request),
    createdAt: n.created_at.toISOString(),
    sentAt: n.sent_at?.toISOString() ?? null,
    failedAt: n.failed_at?.toISOString() ?? null,
    error: n.error,
    attempts: n.attempts,
  };
}

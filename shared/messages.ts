/** What customers are told, in Korean and English, for each notification kind. */
import type { NotificationKind } from './contract.js';

export interface MessageContext {
  reservationId: string;
  productName: string;
  storeName?: string | null;
  fallback?: boolean;
  holdUntil?: string | null;
  /** A REJECTED because the stock decision could not be made (not because it sold out). */
  unavailable?: boolean;
}

export function notificationText(kind: NotificationKind, c: MessageContext): { ko: string; en: string } {
  const date = c.holdUntil ? c.holdUntil.slice(0, 10) : '';
  switch (kind) {
    case 'ACCEPTED':
      return {
        ko: `[Tshop] ${c.productName} 예약이 접수되었습니다 (예약번호 ${c.reservationId}). 대리점 배정 후 다시 알려드립니다.`,
        en: `[Tshop] Your reservation ${c.reservationId} for ${c.productName} is accepted. We will tell you which store takes it.`,
      };
    case 'REJECTED':
      if (c.unavailable) {
        return {
          ko: `[Tshop] 죄송합니다. 일시적인 오류로 ${c.productName} 예약을 완료하지 못했습니다 (예약번호 ${c.reservationId}). 예약된 재고는 없으며, 다시 시도해 주세요.`,
          en: `[Tshop] Sorry, reservation ${c.reservationId} for ${c.productName} could not be completed because of a temporary fault; nothing is reserved. Please try again.`,
        };
      }
      return {
        ko: `[Tshop] 죄송합니다. ${c.productName} 재고가 없어 예약할 수 없습니다 (예약번호 ${c.reservationId}).`,
        en: `[Tshop] Sorry, ${c.productName} is out of stock; reservation ${c.reservationId} could not be accepted.`,
      };
    case 'CONFIRMED':
      return c.fallback
        ? {
            ko: `[Tshop] 예약 ${c.reservationId}(${c.productName})이 확정되었습니다. 가까운 대리점 배정이 지연되어 ${c.storeName}에서 택배로 보내드립니다.`,
            en: `[Tshop] Reservation ${c.reservationId} (${c.productName}) is confirmed. No nearby store could take it in time, so ${c.storeName} will deliver it to you.`,
          }
        : {
            ko: `[Tshop] 예약 ${c.reservationId}(${c.productName})이 ${c.storeName}에 접수되었습니다. ${date}까지 방문해 주세요.`,
            en: `[Tshop] Reservation ${c.reservationId} (${c.productName}) is confirmed at ${c.storeName}. Please collect it by ${date}.`,
          };
    case 'REASSIGNED':
      return {
        ko: `[Tshop] 예약 ${c.reservationId}(${c.productName})을 택배 대신 ${c.storeName}에서 수령하실 수 있게 되었습니다. ${date}까지 방문해 주세요.`,
        en: `[Tshop] Good news: reservation ${c.reservationId} (${c.productName}) can now be collected at ${c.storeName} instead of delivered. Please collect it by ${date}.`,
      };
    case 'REMINDER':
      return {
        ko: `[Tshop] 예약 ${c.reservationId}(${c.productName})의 보관 기한이 ${date}에 끝납니다. ${c.storeName}에서 수령해 주세요.`,
        en: `[Tshop] Reservation ${c.reservationId} (${c.productName}) is held for you at ${c.storeName} until ${date}.`,
      };
    case 'COMPLETED':
      return {
        ko: `[Tshop] ${c.productName} 개통이 완료되었습니다. 이용해 주셔서 감사합니다.`,
        en: `[Tshop] Your ${c.productName} is activated. Thank you!`,
      };
    case 'CANCELLED':
      return {
        ko: `[Tshop] 예약 ${c.reservationId}(${c.productName})이 취소되었습니다.`,
        en: `[Tshop] Reservation ${c.reservationId} (${c.productName}) is cancelled.`,
      };
    case 'EXPIRED':
      return {
        ko: `[Tshop] 보관 기한이 지나 예약 ${c.reservationId}(${c.productName})이 만료되었습니다.`,
        en: `[Tshop] Reservation ${c.reservationId} (${c.productName}) expired: it was not collected in time.`,
      };
  }
}

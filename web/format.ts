/** Numbers, prices, times and distances as a Korean (or English) reader expects them; times in KST. */
import type { Lang } from './i18n.js';

const locale = (lang: Lang) => (lang === 'ko' ? 'ko-KR' : 'en-GB');

export function formatPrice(krw: number, lang: Lang): string {
  return new Intl.NumberFormat(locale(lang), { style: 'currency', currency: 'KRW', maximumFractionDigits: 0 }).format(krw);
}

export function formatNumber(n: number, lang: Lang, maximumFractionDigits = 0): string {
  return new Intl.NumberFormat(locale(lang), { maximumFractionDigits }).format(n);
}

/** A date and time in Seoul's time zone, where the stores are. */
export function formatDateTime(iso: string | null | undefined, lang: Lang): string {
  if (!iso) return '–';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(lang), { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Asia/Seoul' }).format(date);
}

export function formatTime(iso: string | Date, lang: Lang): string {
  const date = typeof iso === 'string' ? new Date(iso) : iso;
  return new Intl.DateTimeFormat(locale(lang), { timeStyle: 'medium', timeZone: 'Asia/Seoul' }).format(date);
}

export function formatDistance(km: number | null | undefined, lang: Lang): string {
  if (km === null || km === undefined) return '–';
  return km < 1 ? `${formatNumber(Math.round(km * 1000), lang)} m` : `${formatNumber(km, lang, 1)} km`;
}

/** A random UUID: crypto.randomUUID needs a secure context, getRandomValues does not. */
export function randomUuid(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Numbers, prices, times and distances as a Korean (or English) reader expects them; times in KST. */
import type { Lang } from './types.js';

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

type Amount = number | string;
const UNITS = {
  ko: { s: (n: Amount) => `${n}초`, min: (n: Amount) => `${n}분`, h: (n: Amount) => `${n}시간`, d: (n: Amount) => `${n}일`, about: (x: string) => `약 ${x}` },
  en: { s: (n: Amount) => `${n} s`, min: (n: Amount) => `${n} min`, h: (n: Amount) => `${n} h`, d: (n: Amount) => `${n} d`, about: (x: string) => `about ${x}` },
};

/** A length of time in its largest two units: "1시간 5분", "3분 20초", "45 s". */
export function formatDuration(totalSeconds: number, lang: Lang): string {
  const u = UNITS[lang];
  const s = Math.max(0, Math.round(totalSeconds));
  const [d, h, m, sec] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60), s % 60];
  const parts = d > 0 ? [u.d(d), h > 0 ? u.h(h) : ''] : h > 0 ? [u.h(h), m > 0 ? u.min(m) : ''] : m > 0 ? [u.min(m), sec > 0 ? u.s(sec) : ''] : [u.s(sec)];
  return parts.filter(Boolean).join(' ');
}

/** A wait as people say it: seconds under a minute, whole minutes under an hour, else hours and minutes. */
function roughly(seconds: number, lang: Lang): { text: string; minutes?: number } {
  const u = UNITS[lang];
  if (seconds < 60) return { text: u.s(Math.max(1, Math.round(seconds))) };
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return { text: u.min(minutes), minutes };
  return { text: [u.h(Math.floor(minutes / 60)), minutes % 60 ? u.min(minutes % 60) : ''].filter(Boolean).join(' ') };
}

/** An estimated wait with its range: "약 3분 (2–5분)", "about 3 min (2–5 min)"; no range when both ends read the same. */
export function formatWait(wait: { seconds: number; low: number; high: number }, lang: Lang): string {
  const about = UNITS[lang].about(roughly(wait.seconds, lang).text);
  const low = roughly(wait.low, lang);
  const high = roughly(wait.high, lang);
  if (low.text === high.text) return about;
  // Both ends in minutes share the unit: "2–5분" rather than "2분–5분".
  const range = low.minutes !== undefined && high.minutes !== undefined ? UNITS[lang].min(`${low.minutes}–${high.minutes}`) : `${low.text}–${high.text}`;
  return `${about} (${range})`;
}

/** A datetime-local value ("2026-12-24T10:00") of an instant, in Seoul's time (UTC+9 all year: Korea keeps no summer time). */
export function toSeoulInput(iso: string | null): string {
  if (!iso) return '';
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? '' : new Date(ms + 9 * 3_600_000).toISOString().slice(0, 16);
}

/** The instant of a datetime-local value read as Seoul's time, with its offset; null for an empty field. */
export function fromSeoulInput(value: string): string | null {
  if (!value) return null;
  const [date, time = '00:00'] = value.split('T');
  return `${date}T${time.length === 5 ? `${time}:00` : time}+09:00`;
}

/** A Korean mobile number from its E.164 form (+821012345678 → 010-1234-5678); others as given. */
export function formatPhone(phone: string): string {
  const m = /^\+82(1\d)(\d{3,4})(\d{4})$/.exec(phone.replace(/[\s-]/g, ''));
  return m ? `0${m[1]}-${m[2]}-${m[3]}` : phone;
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

import { createHash, randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

// Random bytes drawn a few kilobytes at a time: one system call per 341 ids instead of one each.
let pool = Buffer.alloc(0);
let used = 0;

/** A new reservation id: 12 random Crockford base32 characters (60 bits). */
export function newReservationId(): string {
  if (used + 12 > pool.length) {
    pool = randomBytes(4_092);
    used = 0;
  }
  let id = '';
  for (let i = used; i < used + 12; i++) id += CROCKFORD[pool[i]! & 31];
  used += 12;
  return id;
}

/** The reservation id an Idempotency-Key stands for: the same caller and key always map to it. */
export function reservationIdForKey(caller: string, key: string): string {
  const digest = createHash('sha256').update(`${caller}\n${key}`).digest();
  let id = '';
  for (let i = 0; i < 12; i++) id += CROCKFORD[digest[i]! & 31];
  return id;
}

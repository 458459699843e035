import { createHash, randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A new reservation id: 12 random Crockford base32 characters (60 bits). */
export function newReservationId(): string {
  const bytes = randomBytes(12);
  let id = '';
  for (const b of bytes) id += CROCKFORD[b & 31];
  return id;
}

/** The reservation id an Idempotency-Key stands for: the same caller and key always map to it. */
export function reservationIdForKey(caller: string, key: string): string {
  const digest = createHash('sha256').update(`${caller}\n${key}`).digest();
  let id = '';
  for (let i = 0; i < 12; i++) id += CROCKFORD[digest[i]! & 31];
  return id;
}

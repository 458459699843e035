import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A new reservation id: 12 random Crockford base32 characters (60 bits). */
export function newReservationId(): string {
  const bytes = randomBytes(12);
  let id = '';
  for (const b of bytes) id += CROCKFORD[b & 31];
  return id;
}

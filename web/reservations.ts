import type { Reservation } from './types.js';

/** `list` with `incoming` merged in by id, newer wins: an event or answer never replaces what a later one said. */
export function mergeNewer(list: Reservation[], incoming: Reservation[]): Reservation[] {
  const byId = new Map(list.map((r) => [r.id, r]));
  for (const r of incoming) {
    const known = byId.get(r.id);
    if (!known || known.updatedAt <= r.updatedAt) byId.set(r.id, r);
  }
  return [...byId.values()];
}

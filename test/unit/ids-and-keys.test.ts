/** Reservation ids, the keys derived from them, and the statuses' rules. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ASSIGNMENT_KEY_PATTERN,
  assignmentKey,
  isCancellable,
  parseAssignmentKey,
  RESERVATION_ID_PATTERN,
  RESERVATION_STATUSES,
  reservationIdOfWorkflow,
  reservationWorkflowId,
  TERMINAL_STATUSES,
} from '../../app/reservation/contract.js';
import { newReservationId, reservationIdForKey } from '../../platform/ids.js';

describe('reservation ids', () => {
  it('are 12 Crockford base32 characters (no I, L, O, U), all different', () => {
    const ids = Array.from({ length: 2_000 }, newReservationId);
    for (const id of ids) expect(id).toMatch(RESERVATION_ID_PATTERN);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.join('')).not.toMatch(/[ILOU]/);
  });

  it('are the same for the same caller and Idempotency-Key, and differ otherwise', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (caller, key) => {
        const id = reservationIdForKey(caller, key);
        expect(id).toMatch(RESERVATION_ID_PATTERN);
        expect(reservationIdForKey(caller, key)).toBe(id);
      }),
    );
    expect(reservationIdForKey('customer:c-1', 'k-1')).not.toBe(reservationIdForKey('customer:c-2', 'k-1'));
    expect(reservationIdForKey('customer:c-1', 'k-1')).not.toBe(reservationIdForKey('customer:c-1', 'k-2'));
  });

  it("name their workflow `reservation-<id>`, and only such workflow ids give one back", () => {
    const id = newReservationId();
    expect(reservationWorkflowId(id)).toBe(`reservation-${id}`);
    expect(reservationIdOfWorkflow(reservationWorkflowId(id))).toBe(id);
    expect(reservationIdOfWorkflow('tshop-reconciler')).toBeUndefined();
    expect(reservationIdOfWorkflow(42)).toBeUndefined();
  });
});

describe('assignment keys', () => {
  it('are the reservation id for the first round and `<id>~<n>` for a re-drive, and parse back', () => {
    const id = newReservationId();
    expect(assignmentKey(id)).toBe(id);
    expect(assignmentKey(id, 1)).toBe(id);
    expect(assignmentKey(id, 3)).toBe(`${id}~3`);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 999 }), (round) => {
        const key = assignmentKey(id, round);
        expect(key).toMatch(ASSIGNMENT_KEY_PATTERN);
        expect(parseAssignmentKey(key)).toEqual(round > 1 ? { reservationId: id, round } : { reservationId: id });
      }),
    );
  });

  it('refuse what is not one', () => {
    for (const bad of ['', 'reservation-7K3F9Q2M4XTB', '7K3F9Q2M4XTB~0', '7K3F9Q2M4XTB~1000', '7K3F9Q2M4XTI', '7k3f9q2m4xtb']) {
      expect(bad, bad).not.toMatch(ASSIGNMENT_KEY_PATTERN);
    }
  });
});

describe('statuses', () => {
  it('are cancellable until they end or a cancel is under way', () => {
    const cancellable = RESERVATION_STATUSES.filter(isCancellable);
    expect(cancellable).toEqual(['PENDING', 'ACCEPTED', 'CONFIRMED']);
    expect([...TERMINAL_STATUSES].sort()).toEqual(['CANCELLED', 'COMPLETED', 'EXPIRED', 'REJECTED']);
  });
});

import type { Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createSaleBoard } from '../../app/launch/sale-board.js';
import type { Database } from '../../db/schema.js';
import type { SaleRow } from '../../app/launch/sales.js';
import { createLogger } from '../../platform/log.js';

const row = (admissionRate: number | null): SaleRow => ({
  id: 1,
  sku: 'P-1',
  name: 'phone',
  brand: 'b',
  price_krw: 1,
  stock: 10,
  claimed: 0,
  opens_at: null,
  closes_at: null,
  paused: false,
  unit_limit: 1,
  queue_order: 'FIFO',
  admission_rate: admissionRate,
  seed: null,
  seed_sha256: null,
  drawn_at: null,
  drawn_count: null,
  issued: 0,
  early_upto: 0,
  admitted: 0,
  sold_out_upto: 0,
  sold_out_from: 0,
  sold_out_at: null,
  in_admission: 0,
  now: new Date(),
});

describe('the sale board', () => {
  it('shows a change this process just made: a refresh does not join a read begun before it', async () => {
    // The database as each read finds it: the rate the desk has set when the read begins.
    let rate: number | null = null;
    let release: () => void = () => undefined;
    const reads: (number | null)[] = [];
    const readRows = async () => {
      const seen = rate;
      reads.push(seen);
      if (reads.length === 1) await new Promise<void>((r) => (release = r)); // the first read is slow
      return [row(seen)];
    };
    const board = createSaleBoard(undefined as unknown as Kysely<Database>, createLogger('test', 'error'), 60_000, readRows);
    const before = board.get(1); // a read under way, begun before the change
    await Promise.resolve();
    rate = 2; // the desk's write commits
    const after = board.refresh();
    release();
    expect((await before)?.admission_rate).toBeNull();
    expect((await after).map((v) => v.admission_rate)).toEqual([2]);
    expect(board.peek(1)?.admission_rate).toBe(2);
  });
});

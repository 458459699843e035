/**
 * Joining a line costs the same whatever its length: a join group looks up each joiner's live ticket
 * (and their number's) through its own index, and never reads the tickets of everyone else waiting;
 * and it never waits for the admitter's step, only (at most) for its last statement.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../db/schema.js';
import { issueStatement, issueTickets, type Join } from '../../app/launch/tickets.js';
import { admitNext } from '../../app/launch/sales.js';
import { newProduct, openTestDb } from '../helpers.js';

let db: Kysely<Database>;
beforeAll(async () => {
  db = await openTestDb();
});
afterAll(async () => {
  await db.destroy();
});

const tag = randomUUID().slice(0, 8);
let serial = 0;
function joinsFor(productId: number, n: number): Join[] {
  return Array.from({ length: n }, () => {
    const i = serial++;
    return {
      id: `T-${tag}-${i}`, reservationId: `R-${tag}-${i}`, productId, customerId: `c-${tag}-${i}`, phoneKey: `p-${tag}-${i}`, quantity: 1,
      fulfilment: 'PICKUP', name: null, phone: null, district: null, latitude: null, longitude: null, leaseMs: 120_000,
    };
  });
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  Plans?: PlanNode[];
}

/** Rows the statement read from queue_tickets (every scan of it, over all its loops). */
function ticketRowsRead(node: PlanNode): number {
  const own = node['Relation Name'] === 'queue_tickets' && /Scan/.test(node['Node Type']) ? node['Actual Rows'] * node['Actual Loops'] : 0;
  return own + (node.Plans ?? []).reduce((sum, p) => sum + ticketRowsRead(p), 0);
}

const ROLLBACK = new Error('rolled back on purpose: EXPLAIN ANALYZE ran the joins');

/** Rows of the line one join group reads; EXPLAIN ANALYZE runs it, inside a transaction rolled back. */
async function rowsReadJoining(productId: number, group: number): Promise<number> {
  const compiled = issueStatement(joinsFor(productId, group)).compile(db);
  let read = -1;
  await db
    .transaction()
    .execute(async (trx) => {
      const { rows } = await trx.executeQuery<{ 'QUERY PLAN': { Plan: PlanNode }[] }>({ ...compiled, sql: `explain (analyze, format json) ${compiled.sql}` });
      read = ticketRowsRead(rows[0]!['QUERY PLAN'][0]!.Plan);
      throw ROLLBACK;
    })
    .catch((err: unknown) => {
      if (err !== ROLLBACK) throw err;
    });
  return read;
}

it('a join reads only its own rows of the line, with 20 waiting or 3,000', async () => {
  const product = await newProduct(db, 10);
  for (let i = 0; i < 20; i++) await issueTickets(db, joinsFor(product.id, 1));
  const short = await rowsReadJoining(product.id, 50);
  for (let i = 0; i < 6; i++) await issueTickets(db, joinsFor(product.id, 500));
  await sql`analyze queue_tickets`.execute(db);
  const long = await rowsReadJoining(product.id, 50);
  // A whole-line read would be ≥ 3,000 rows; each of 50 joiners looks up two index entries at most.
  expect(long).toBeLessThanOrEqual(2 * 50);
  expect(long).toBeLessThanOrEqual(short + 10);
});

it("a join goes ahead while the admitter is in the middle of its step (they share the sale's row only at the step's end)", async () => {
  const product = await newProduct(db, 10);
  await issueTickets(db, joinsFor(product.id, 5));
  let reached: () => void = () => undefined;
  const inWindow = new Promise<void>((resolve) => (reached = resolve));
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  // Holds the admitter inside its step, at the read of the places above the watermark.
  const holding: KyselyPlugin = {
    transformQuery: (args) => args.node,
    transformResult: async (args) => {
      if ('rows' in args.result && args.result.rows.some((r) => typeof r === 'object' && r !== null && 'alive' in r)) {
        reached();
        await released;
      }
      return args.result;
    },
  };
  const order: string[] = [];
  const admitting = admitNext(db.withPlugin(holding), product.id, { maxInFlight: 32, maxBatch: 200, retryAfterMs: 15_000, burstSeconds: 1 }).then((tick) => {
    order.push('admitted');
    return tick;
  });
  await inWindow;
  const joining = issueTickets(db, joinsFor(product.id, 1)).then(() => order.push('joined'));
  // The join is done while the step is still held (or it would wait for the step, and this would hang until released).
  await Promise.race([joining, new Promise((resolve) => setTimeout(resolve, 3_000))]);
  release();
  const tick = await admitting;
  await joining;
  expect(order).toEqual(['joined', 'admitted']);
  expect(tick).toMatchObject({ kind: 'admitted', passed: 5 });
});

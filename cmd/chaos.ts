/**
 * `npm run chaos [-- --quick | --minutes N] [-- --rate R] [-- --expect-accepted N] [-- --out FILE]`:
 * customers arrive at R a second and go through the whole lifecycle (reserve, following a place in
 * line to its end when answered 202; then cancel, collect the phone, or let the hold expire) while
 * the stack is hit, cycle after cycle, by a worker
 * SIGKILL, an assignment outage past the deadline (central delivery, then an operator's
 * `reassign`), a Temporal restart, an API SIGKILL and a PostgreSQL restart. Units are restocked as
 * they sell, so accepted reservations flow through the faults. A request that got a 5xx or no
 * answer counts as failed unless repeating it with its Idempotency-Key got the final answer.
 * Afterwards every reservation must be where its answers put it and every invariant must hold;
 * the run prints what it did and found, writes it as JSON and exits non-zero otherwise.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { signToken } from '../platform/auth.js';
import { openDatabase } from '../db/open.js';
import { prepareDatabase } from '../db/prepare.js';
import { createClient, type ChaosClient, type Tally } from '../bench/chaos/client.js';
import { createOperator, runFaults, type FaultLog } from '../bench/chaos/faults.js';
import { drawFate, runJourney, type Journey, type JourneyOptions } from '../bench/chaos/journeys.js';
import { startStack, type Ports, type Stack } from '../dev/stack.js';
import { settle, verify } from '../bench/chaos/verify.js';
import { thisCheckout } from '../bench/compare/checkout.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    minutes: { type: 'string' },
    rate: { type: 'string', default: '8' },
    'expect-accepted': { type: 'string' },
    out: { type: 'string', default: 'bench/results/chaos-latest.json' },
  },
});
const LOAD_MS = args.minutes ? Number(args.minutes) * 60_000 : args.quick ? 120_000 : 300_000;
const RATE = Number(args.rate);
/** The lifecycle's time limits, short enough that the deadline and the hold both end inside the run. */
const LIFECYCLE = { ASSIGNMENT_DEADLINE: '10s', HOLD_PERIOD: '60s', REMINDER_BEFORE: '20s' };
/**
 * The run's admin stands for every store's staff and the launch desk, and every customer comes from
 * 127.0.0.1: the per-staff (600 a minute) and per-address write limits would refuse the run itself
 * (8 customers a second write 15–20 times a second), as in `npm run bench`.
 */
const WRITE_LIMITS = { RATE_LIMIT_ADDRESS_WRITES: 'off', RATE_LIMIT_STAFF_WRITES: 'off' };
const ASSIGNMENT_OUTAGE_MS = 25_000;
const MAX_IN_FLIGHT = 400;
const JOURNEY: Omit<JourneyOptions, 'productId'> = { answerWithinMs: 300_000, collectWithinMs: 20_000 };
const RESTOCK = { below: 150, by: 300 };

const say = (line: string) => process.stdout.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tshop-chaos-'));
let stack: Stack | undefined;
/** The chaos run's own ports; no test or bench uses them. */
const PORTS: Partial<Ports> = { api: 18288, assignment: 18289, workerMetrics: 18290, pg: 25472, temporal: 17273, temporalUi: 18273 };
const crashes: string[] = [];

async function main(): Promise<boolean> {
  const cycles = Math.max(1, Math.round(LOAD_MS / 180_000));
  say(`data in ${dataDir}; ${LOAD_MS / 1000} s of load at ${RATE} customers/s, ${cycles} fault cycle(s)`);
  const jwtSecret = randomBytes(32).toString('hex');
  // PostgreSQL and the Temporal dev server keep their state in the data directory, so either can be
  // restarted; the assignment service, the worker, the notifier and the API are processes of their own.
  stack = await startStack({
    dataDir,
    parts: ['postgres', 'temporal'],
    ports: PORTS,
    // As deployments run them (and npm start): compiled JavaScript, so a restart costs no TypeScript compile.
    runner: 'compiled',
    env: { ...LIFECYCLE, ...WRITE_LIMITS, JWT_SECRET: jwtSecret, LOG_LEVEL: 'error' },
    logFiles: true,
    onExit: (part, log) => {
      // A crash is a defect the run reports; the part is started again, as its supervisor would.
      crashes.push(`${part} crashed: ${log}`);
      say(`${part} CRASHED (${log.split('\n')[0]}); starting it again`);
      void sleep(1_000)
        .then(() => stack?.part(part).start())
        .catch((err: unknown) => say(`${part} did not start again: ${String(err)}`));
    },
  });
  const db = await openDatabase(stack.databaseUrl);
  await prepareDatabase(db, { seed: true });
  for (const part of ['assignment', 'worker', 'notifier', 'api'] as const) await stack.start(part);
  say('stack up: PostgreSQL, Temporal, assignment service, worker, notifier, API (separate processes)');
  const connection = await Connection.connect({ address: stack.temporalAddress });
  const operator = createOperator(db, new Client({ connection }));

  const tally: Tally = { retried: {}, polls: 0, pollsFailed: 0 };
  let authorization = `Bearer ${await signToken(jwtSecret, { role: 'admin', sub: 'chaos' })}`;
  const renew = setInterval(() => void signToken(jwtSecret, { role: 'admin', sub: 'chaos' }).then((t) => (authorization = `Bearer ${t}`)), 600_000);
  renew.unref();
  const client = createClient(stack.apiUrl, () => authorization, tally);
  const product = (await client.send('GET', '/products')).body.items as { id: number }[];
  const productId = product[0]!.id;

  const loadEnds = Date.now() + LOAD_MS;
  const log: FaultLog = { faults: [], reassignSignals: 0, backAfterMs: {} };
  const restocks = { count: 0, units: 0 };
  const restocking = restocker(client, productId, loadEnds, restocks);
  const faults = runFaults(stack, operator, { cycles, loadEnds, loadMs: LOAD_MS, assignmentOutageMs: ASSIGNMENT_OUTAGE_MS, say }, log);
  const journeys = await arrivals(client, { ...JOURNEY, productId }, loadEnds);
  await faults;
  await restocking;
  say(`load stopped: ${journeys.length} customers; waiting for every journey and reservation to end …`);

  const settled = await settle(db, productId, 300_000);
  const verdict = await verify(db, productId, journeys);
  if (!settled) verdict.violations.unshift('reservations still on their way 5 minutes after the load stopped');
  verdict.violations.unshift(...crashes);
  const summary = summarize(journeys, tally, log, restocks, verdict, cycles);
  const accepted = summary.accepted;
  const expected = args['expect-accepted'] ? Number(args['expect-accepted']) : undefined;
  if (expected !== undefined && accepted < expected) verdict.violations.push(`${accepted} accepted reservations, fewer than the ${expected} expected`);
  report(summary, verdict.violations);
  writeResults(summary, verdict.violations);
  await connection.close();
  await db.destroy();
  return verdict.violations.length === 0;
}

/** Customers arrive on a fixed schedule (R a second), each on a journey of their own. */
async function arrivals(client: ChaosClient, options: JourneyOptions, loadEnds: number): Promise<Journey[]> {
  const journeys: Journey[] = [];
  const running = new Set<Promise<void>>();
  const started = Date.now();
  for (let n = 0; Date.now() < loadEnds; n++) {
    await sleep(Math.max(0, started + (n * 1000) / RATE - Date.now()));
    // A queue of customers in front of a dead stack is not more load, only more waiting.
    while (running.size >= MAX_IN_FLIGHT) await Promise.race(running);
    const j: Journey = { key: `chaos-${n}-${randomUUID()}`, fate: drawFate() };
    journeys.push(j);
    const p = runJourney(client, j, options).catch((err: unknown) => void (j.failure = `journey threw: ${String(err)}`));
    running.add(p);
    void p.finally(() => running.delete(p));
  }
  await Promise.all(running);
  return journeys;
}

/** The launch desk tops the product up as it sells, so there is always stock to reserve. */
async function restocker(client: ChaosClient, productId: number, loadEnds: number, done: { count: number; units: number }) {
  while (Date.now() < loadEnds) {
    const product = await client.send('GET', `/products/${productId}`).catch(() => undefined);
    const left = product?.status === 200 ? Number(product.body.availableStock) : Infinity;
    if (left < RESTOCK.below) {
      const answer = await client.final('POST', `/products/${productId}/restock`, { quantity: RESTOCK.by }, `restock-${randomUUID()}`, loadEnds + 60_000);
      if (answer?.status === 200) {
        done.count++;
        done.units += RESTOCK.by;
      }
    }
    await sleep(1_000);
  }
}

function percentile(sorted: number[], p: number) {
  return sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summarize(journeys: Journey[], tally: Tally, log: FaultLog, restocks: { count: number; units: number }, verdict: Awaited<ReturnType<typeof verify>>, cycles: number) {
  const answers: Record<string, number> = {};
  const fates: Record<string, number> = {};
  const ticketsEnded: Record<string, number> = {};
  for (const j of journeys) {
    const key = j.reserve === undefined ? 'none' : String(j.reserve);
    answers[key] = (answers[key] ?? 0) + 1;
    if (j.accepted) fates[`${j.fate}→${j.expected ?? 'failed'}`] = (fates[`${j.fate}→${j.expected ?? 'failed'}`] ?? 0) + 1;
    if (j.ticket) ticketsEnded[j.ticket.ended ?? 'not ended'] = (ticketsEnded[j.ticket.ended ?? 'not ended'] ?? 0) + 1;
  }
  const sorted = (xs: (number | undefined)[]) => xs.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  const decided = sorted(journeys.map((j) => j.decidedMs));
  const placed = sorted(journeys.map((j) => j.ticket?.endedMs));
  return {
    at: new Date().toISOString(),
    loadSeconds: LOAD_MS / 1000,
    ratePerSecond: RATE,
    lifecycle: LIFECYCLE,
    writeLimits: WRITE_LIMITS,
    faultCycles: cycles,
    faults: log.faults.length,
    customers: journeys.length,
    answers,
    /** Customers who got a unit: answered 201, or their place in line ended RESERVED. */
    accepted: journeys.filter((j) => j.accepted).length,
    placesInLine: {
      count: journeys.filter((j) => j.ticket).length,
      ended: ticketsEnded,
      finalAnswerMs: { p50: percentile(placed, 50), p99: percentile(placed, 99), max: placed.at(-1) ?? null },
      polls: tally.polls,
      pollsFailed: tally.pollsFailed,
    },
    failedJourneys: journeys.filter((j) => j.failure).length,
    endings: fates,
    lateCollections: journeys.filter((j) => j.late).length,
    retriedThrough: tally.retried,
    restocks,
    reassignSignals: log.reassignSignals,
    /** Each part's restarts: from its start to its ready line, ms. */
    backAfterMs: log.backAfterMs,
    ...verdict.lifecycle,
    finalStates: verdict.finalStates,
    reserveAnswerMs: { p50: percentile(decided, 50), p99: percentile(decided, 99), max: decided.at(-1) ?? null },
  };
}

function report(summary: ReturnType<typeof summarize>, violations: string[]) {
  const list = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${k}×${v}`).join(', ') || 'none';
  const line = summary.placesInLine;
  say(`${summary.customers} customers; reserve answers: ${list(summary.answers)}; ${summary.accepted} got a unit; failed journeys: ${summary.failedJourneys}`);
  say(`places in line (202): ${line.count}, ended ${list(line.ended)}; final answer p50 ${line.finalAnswerMs.p50} ms, p99 ${line.finalAnswerMs.p99} ms; ${line.polls} polls (${line.pollsFailed} failed, asked again)`);
  say(`accepted reservations ended: ${list(summary.endings)} (collected too late: ${summary.lateCollections})`);
  say(`repeated with the same key through: ${list(summary.retriedThrough)}`);
  say(`central fallbacks ${summary.centralFallbacks}, reassign signals ${summary.reassignSignals}, moved to a store ${summary.reassignedToStore}, reminders ${summary.reminders}; restocks ${summary.restocks.count} (+${summary.restocks.units} units)`);
  say(`reserve answered in p50 ${summary.reserveAnswerMs.p50} ms, p99 ${summary.reserveAnswerMs.p99} ms, max ${summary.reserveAnswerMs.max} ms (retries included; a 202's time is its place in line)`);
  say(`final states: ${list(summary.finalStates)}`);
  const back = Object.entries(summary.backAfterMs).map(([part, ms]) => `${part} ${ms.join('/')}`);
  say(`serving again after a restart (start → ready, ms): ${back.join('; ') || 'no restarts'}`);
  for (const v of violations.slice(0, 50)) say(`VIOLATION: ${v}`);
  if (violations.length > 50) say(`… and ${violations.length - 50} more violations`);
  if (violations.length === 0) say('nothing lost: every reservation is where its answers put it; all invariants hold');
}

// What ran, as the run began: the commit and whether the checkout had uncommitted changes.
const { commit, subject, dirty } = thisCheckout(process.cwd());

function writeResults(summary: ReturnType<typeof summarize>, violations: string[]) {
  mkdirSync(path.dirname(path.resolve(args.out!)), { recursive: true });
  const source = { commit, subject, clean: !dirty };
  writeFileSync(path.resolve(args.out!), `${JSON.stringify({ source, ...summary, violations }, null, 2)}\n`);
  say(`results written to ${args.out}`);
}

async function teardown() {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

// Ctrl-C or a SIGTERM stops every part it started (PostgreSQL and Temporal included), then exits.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping everything …`);
    void teardown().finally(() => process.exit(130));
  });
}

main()
  .then(async (ok) => {
    await teardown();
    process.exit(ok ? 0 : 1);
  })
  .catch(async (err) => {
    say(`failed: ${err instanceof Error ? err.stack : String(err)}`);
    await teardown();
    process.exit(1);
  });

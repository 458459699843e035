/**
 * Beyond one node, on one machine (docker-compose.scale.yml): two API replicas behind the edge, two
 * workers, Temporal's four services apart. A chaos cycle with reservations flowing: a worker
 * container killed, Temporal's history service killed, PostgreSQL restarted. Every reservation must
 * end where its answers put it, and the invariants hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, client, customerToken, eventually, type Answer, type Body } from './client.js';
import { retryDelaySeconds } from '../../web/retry.js';
import { cli, type Engine } from './engine.js';
import { bringUp, takeDown, type Stack } from './stack.js';

const log = (line: string) => console.log(`[scale] ${line}`);
const API_PORT = Number(process.env.DEPLOY_SCALE_API_PORT ?? 18089);
const PROJECT = 'tshop-deploy-scale';
const RATE_PER_SECOND = 4;
let engine: Engine;
let stack: Stack;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  ({ engine, stack } = await bringUp({ project: PROJECT, apiPort: API_PORT, files: ['docker-compose.scale.yml'], log }));
  api = client(stack.apiUrl);
}, 45 * 60_000);

afterAll(() => takeDown(engine, stack), 120_000);

const running = () =>
  stack
    .compose(['ps', '--format', '{{.Service}}'], { quiet: true })
    .trim()
    .split('\n')
    .filter(Boolean);

/**
 * The answer that decides a request, asked again with the same idempotency key through every fault,
 * as the web app asks (web/retry.ts): after Retry-After, else backing off to at most 15 s, jittered.
 */
async function decided(call: () => Promise<Answer>, final: (a: Answer) => boolean, counts: Map<string, number>): Promise<Answer> {
  const deadline = Date.now() + 300_000;
  const count = (kind: string) => counts.set(kind, (counts.get(kind) ?? 0) + 1);
  for (let failures = 1; ; failures++) {
    let answer: Answer | undefined;
    try {
      answer = await call();
      if (final(answer)) return answer;
      // Asking again cannot change a refusal of the request itself.
      if ([400, 401, 403, 404, 422].includes(answer.status)) throw new Error(`refused: ${JSON.stringify(answer)}`);
      count(`${answer.status} ${answer.body.code ?? ''}`.trim());
    } catch (err) {
      count((err as Error).name === 'TimeoutError' ? 'timeout' : 'connection');
    }
    if (Date.now() > deadline) throw new Error(`undecided after 300 s: ${JSON.stringify(answer)}`);
    const seconds = retryDelaySeconds(answer?.status ?? 0, answer?.retryAfter, null, failures, Math.random());
    await new Promise((r) => setTimeout(r, seconds * 1000));
  }
}

describe('the scaled stack', () => {
  it('runs two APIs, two workers and the four Temporal services', () => {
    const services = running();
    const count = (s: string) => services.filter((x) => x === s).length;
    expect(count('api')).toBe(2);
    expect(count('worker')).toBe(2);
    for (const s of ['edge', 'temporal', 'temporal-history', 'temporal-matching', 'temporal-worker', 'notifier', 'assignment', 'postgres']) expect(count(s), s).toBe(1);
  });

  it('loses nothing through a worker killed, the history service killed and PostgreSQL restarted', async () => {
    const secret = stack.env.JWT_SECRET!;
    const admin = await adminToken(secret);
    const product = await api(admin, 'POST', '/products', { sku: 'chaos-s26', name: 'Chaos S26', brand: 'Samsung', priceKrw: 1_000_000, stock: 100_000 });
    expect(product.status, JSON.stringify(product.body)).toBe(201);
    const productId = product.body.id as number;

    const retries = new Map<string, number>();
    const outcomes: { id?: string; status: number; cancelled: boolean; latencyMs: number }[] = [];
    const inFlight = new Set<Promise<void>>();
    let n = 0;
    let flowing = true;
    const unavailable: string[] = [];
    const reserveOne = async (i: number) => {
      const token = await customerToken(secret, `chaos-${i}`, `010${String(70_000_000 + i)}`);
      const started = Date.now();
      let answer: Answer;
      // 503 STOCK_UNAVAILABLE decides an attempt too: the decision could not be made (PostgreSQL away),
      // nothing was reserved, and the customer presses again, which is a new attempt with a new key.
      for (let attempt = 1; ; attempt++) {
        answer = await decided(
          () => api(token, 'POST', '/reservations', { productId, customer: { district: '강남구' } }, { 'idempotency-key': `chaos-reserve-${i}-${attempt}` }),
          (a) => a.status === 201 || (a.status === 409 && a.body.code === 'OUT_OF_STOCK') || (a.status === 503 && a.body.code === 'STOCK_UNAVAILABLE'),
          retries,
        );
        if (answer.body.code !== 'STOCK_UNAVAILABLE') break;
        unavailable.push(answer.body.reservationId as string);
        if (attempt === 5) throw new Error(`customer ${i}: five attempts in a row could not be decided`);
      }
      const outcome = { id: answer.body.id as string | undefined, status: answer.status, cancelled: false, latencyMs: Date.now() - started };
      outcomes.push(outcome);
      // Every fifth customer changes their mind: compensations run through the faults too.
      if (answer.status === 201 && i % 5 === 0) {
        await decided(() => api(token, 'POST', `/reservations/${outcome.id}/cancel`, { reason: 'chaos' }, { 'idempotency-key': `chaos-cancel-${i}` }), (a) => a.status < 300, retries);
        outcome.cancelled = true;
      }
    };
    const load = (async () => {
      while (flowing) {
        const p = reserveOne(n++).finally(() => inFlight.delete(p));
        inFlight.add(p);
        await new Promise((r) => setTimeout(r, 1000 / RATE_PER_SECOND));
      }
    })();

    const pause = (s: number) => new Promise((r) => setTimeout(r, s * 1000));
    // A crash, not an operator's stop: the container's main process is killed from the host, and its
    // restart policy brings it back (as Docker's, podman's conmon restarts it).
    const crash = (service: string) => {
      const pid = cli(engine, ['inspect', '--format', '{{.State.Pid}}', `${PROJECT}-${service}-1`]).trim();
      process.kill(Number(pid), 'SIGKILL');
    };
    await pause(15);
    log('fault: kill a worker container');
    crash('worker');
    await pause(25);
    log('fault: kill the history service');
    crash('temporal-history');
    await pause(30);
    log('fault: restart PostgreSQL');
    stack.compose(['restart', 'postgres']);
    await pause(30);
    flowing = false;
    await load;
    await Promise.all(inFlight);
    log(`${outcomes.length} customers answered, ${unavailable.length} attempts answered STOCK_UNAVAILABLE first; retries: ${JSON.stringify(Object.fromEntries(retries))}`);

    // Killed containers came back by their restart policy.
    const services = running();
    expect(services.filter((s) => s === 'worker')).toHaveLength(2);
    expect(services).toContain('temporal-history');

    // Every accepted reservation ends where its answers put it: CONFIRMED, or CANCELLED when cancelled.
    const accepted = outcomes.filter((o) => o.status === 201);
    expect(accepted.length).toBeGreaterThan(RATE_PER_SECOND * 60);
    const statusOf = async (id: string) => (await api(admin, 'GET', `/reservations/${id}`)).body as Body;
    const final = await eventually(
      () => Promise.all(accepted.map(async (o) => ({ o, r: await statusOf(o.id!) }))),
      (all) => all.every(({ o, r }) => r.status === (o.cancelled ? 'CANCELLED' : 'CONFIRMED')),
      240_000,
    );
    expect(final.filter(({ o, r }) => r.status !== (o.cancelled ? 'CANCELLED' : 'CONFIRMED'))).toEqual([]);
    // An attempt answered STOCK_UNAVAILABLE ended where that answer put it: rejected, nothing reserved.
    for (const id of unavailable) expect((await statusOf(id)).status, id).toBe('REJECTED');
    const kept = accepted.filter((o) => !o.cancelled).length;
    expect((await api(admin, 'GET', `/products/${productId}`)).body.availableStock).toBe(100_000 - kept);

    // The database's own invariants (stock = ledger, one reserve per reservation, slots), checked inside the network.
    const report = stack.compose(['run', '--rm', '--no-deps', 'migrate', 'node', 'dist/cmd/check-invariants.mjs'], { quiet: true });
    expect(report).toContain('invariants hold');
    const latencies = outcomes.map((o) => o.latencyMs).sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
    log(`answers (retries included): p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${latencies.at(-1)} ms`);
  }, 900_000);
});

/**
 * The published contract is exact: schemathesis (pinned in test/contract/requirements.txt) fuzzes
 * every operation of `/openapi.json` with every one of its checks against the API as `npm start`
 * serves it (the demo data, the demo sign-in, its rate limits and line) on the real worker,
 * Temporal and PostgreSQL, once with each role's token: an admin's, a store's staff's and a demo
 * customer's. Any finding fails the test with the fuzzer's report; the answers no schema can state
 * are allowed in test/contract/hooks.py, each with its reason. CONTRACT_SEED and CONTRACT_EXAMPLES
 * vary the run; `npm run test:contract:long` is the long one (docs/testing.md).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../platform/http.js';
import { parseConfig } from '../../platform/config.js';
import type { Principal } from '../../platform/auth.js';
import { DEMO_CUSTOMERS, DEMO_STORES } from '../../db/data/demo.js';
import { installPythonTool } from '../../dev/python.js';
import { restockProduct } from '../../app/product/repository.js';
import { parsePhone } from '../../platform/phone.js';
import { MAX_PRODUCT_STOCK } from '../../app/product/routes.js';
import { ADMIN, DEFAULT_TEST_POLICY, historyText, newProduct, stockOf, testApp, tokenFor, useTestStack } from '../helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const here = path.join(root, 'test', 'contract');
const EXAMPLES = Number(process.env.CONTRACT_EXAMPLES ?? '25');
// A database of its own, seeded with the demo data: the fuzzer restocks, closes and reserves whatever ids it finds.
const stack = useTestStack({ ownDatabase: true });

const demoCustomer = DEMO_CUSTOMERS[0];
const demoStore = DEMO_STORES.find((s) => !('is_central' in s))!;
/**
 * Every role of platform/auth.ts (the launch desk is an admin's) with its token, and the operations it
 * leaves out: those tagged admin refuse the others whatever they send (api.test.ts's matrix checks that).
 */
const ROLES: { principal: Principal; exclude: string[] }[] = [
  { principal: ADMIN, exclude: [] },
  { principal: { role: 'store', sub: `staff-${demoStore.id}`, storeId: demoStore.id }, exclude: ['--exclude-tag', 'admin'] },
  { principal: { role: 'customer', sub: demoCustomer.sub, name: demoCustomer.name }, exclude: ['--exclude-tag', 'admin'] },
];

let server: Awaited<ReturnType<typeof listen>>;
let app: ReturnType<typeof testApp>['app'];
let schemathesis: string | undefined;
beforeAll(async () => {
  schemathesis = installPythonTool(path.join(root, '.tools', 'schemathesis'), 'schemathesis', ['-r', path.join(here, 'requirements.txt')]);
  // The application npm start serves: the web app with its demo sign-in, its write limits, its line
  // running. The limits per caller are raised past what the fuzzer sends (10 a minute would answer
  // a customer's every write after the tenth 429); the one per address is npm start's, so writes
  // are refused 429 now and then, on whichever operation the fuzzer is at.
  const config = parseConfig({});
  const plenty = { points: 1_000_000, durationSeconds: 60 };
  ({ app } = testApp(stack.db, stack.client, stack.worker.taskQueue, DEFAULT_TEST_POLICY, {
    web: { dir: path.join(root, 'dist', 'web'), devLogin: true },
    rateLimits: { ...config.rateLimits, customerWrites: plenty, staffWrites: plenty },
    line: config.line,
  }));
  app.startLine();
  server = await listen(app.fetch, '127.0.0.1', 0, 'contract test API');
}, 600_000); // installing schemathesis the first time takes minutes
afterAll(async () => {
  await server?.close();
  await app?.close();
});

type Body = Record<string, any>; // what the API answered
/** A request to the served API as `as` (none: no token). */
async function call(method: string, path: string, body: unknown, as: Principal | null) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (as) headers.authorization = `Bearer ${await tokenFor(as)}`;
  const res = await fetch(`${server.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, body: (await res.json()) as Body };
}
const WRITES = new Set(['post', 'put', 'patch', 'delete']);

// What the fuzzer found once, each stated as a rule, so that it holds whatever the fuzzer draws.
describe('the contract states what the API refuses', () => {
  it('declares 429 on every write: the write limits refuse any', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as Body;
    const writes = Object.entries(doc.paths as Body).flatMap(([p, ops]) => Object.entries(ops as Body).filter(([m]) => WRITES.has(m)).map(([m, op]) => ({ op: `${m.toUpperCase()} ${p}`, responses: (op as Body).responses as Body })));
    expect(writes.length).toBeGreaterThan(12);
    expect(writes.filter((w) => !w.responses['429']).map((w) => w.op)).toEqual([]);
  });

  it('states its patterns as ECMAScript patterns, and lengths in characters as JSON Schema counts them', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as Body;
    const patterns: string[] = [];
    JSON.stringify(doc, (key, value: unknown) => (key === 'pattern' && typeof value === 'string' && patterns.push(value), value));
    expect(patterns.length).toBeGreaterThan(10);
    for (const pattern of patterns) {
      expect(() => new RegExp(pattern, 'u'), pattern).not.toThrow();
      // zod writes a regex's flags into its pattern (`…$/u`): a pattern nothing matches.
      expect(pattern, pattern).not.toMatch(/\/[dgimsuvy]+$/);
    }
    // Six characters of two UTF-16 units each are six characters, also for the API.
    const name = '😀'.repeat(6);
    expect((await call('PATCH', '/products/1', { name: '😀'.repeat(100) }, ADMIN)).status).toBe(200);
    expect((await call('PATCH', '/products/1', { name: `${name} `.repeat(20) }, ADMIN)).status).toBe(400);
  });

  it("admits as a walk-in's number only numbers the API takes; an admin reserves in the documented shape, the contact out of workflow history", async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as Body;
    const pattern = new RegExp(doc.components.schemas.Customer.properties.phone.pattern as string);
    fc.assert(fc.property(fc.stringMatching(pattern), (phone) => parsePhone(phone) !== undefined), { numRuns: 20_000 });
    for (const phone of ['0000000', '+1 555 0100']) expect(pattern.test(phone), phone).toBe(false);

    const product = await newProduct(stack.db, 1);
    const contact = { id: 'c-walk-in-contract', name: '방문고객', phone: '+82 19 000 0000', district: '강남구' };
    const reserved = await call('POST', '/reservations', { productId: product.id, customer: contact }, ADMIN);
    expect(reserved.status, JSON.stringify(reserved.body)).toBe(201);
    expect(reserved.body.customerId).toBe(contact.id);
    const history = await historyText(stack.client.workflow.getHandle(reserved.body.workflowId as string));
    for (const personal of [contact.name, '0190000000', '019-000-0000', '+82190000000']) expect(history).not.toContain(personal);
  });

  it('store staff name the walk-in they reserve for (422 CUSTOMER_REQUIRED, one of the refusals that depend on who asks)', async () => {
    const product = await newProduct(stack.db, 1);
    const refused = await call('POST', '/reservations', { productId: product.id, customer: { district: '강남구' } }, ROLES[1]!.principal);
    expect([refused.status, refused.body.code]).toEqual([422, 'CUSTOMER_REQUIRED']);
    expect(await stockOf(stack.db, product.id)).toBe(1);
  });

  it('refuses a jti with control characters as invalid (400), revoking nothing', async () => {
    for (const jti of ['nul\u0000jti', 'bell\u0007', 'line\nfeed']) {
      const res = await call('POST', '/tokens/revocations', { jti }, ADMIN);
      expect([res.status, res.body.code], jti).toEqual([400, 'VALIDATION_FAILED']);
    }
    const rows = await stack.db.selectFrom('revoked_tokens').select('jti').where('jti', 'in', ['bell\u0007', 'line\nfeed']).execute();
    expect(rows).toEqual([]);
    // Counted in characters, as JSON Schema counts them: 128 of them, each two UTF-16 units, are a jti.
    expect((await call('POST', '/tokens/revocations', { jti: '😀'.repeat(128) }, ADMIN)).status).toBe(201);
    expect((await call('POST', '/tokens/revocations', { jti: '😀'.repeat(129) }, ADMIN)).status).toBe(400);
  });

  it(`refuses a restock past ${MAX_PRODUCT_STOCK} units with 409 STOCK_LIMIT, changing nothing; a repeat of one made is still answered`, async () => {
    const product = await newProduct(stack.db, 0);
    await restockProduct(stack.db, product.id, MAX_PRODUCT_STOCK - 10, `contract-test:${product.id}`);
    const restock = async (quantity: number, key?: string) => {
      const res = await fetch(`${server.url}/products/${product.id}/restock`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await tokenFor(ADMIN)}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
        body: JSON.stringify({ quantity }),
      });
      return { status: res.status, body: (await res.json()) as Body };
    };
    for (const [quantity, key] of [[11, 'restock-key-1'], [1_000_000, undefined]] as const) {
      const refused = await restock(quantity, key);
      expect([refused.status, refused.body.code]).toEqual([409, 'STOCK_LIMIT']);
    }
    expect(await stockOf(stack.db, product.id)).toBe(MAX_PRODUCT_STOCK - 10);
    // The refusal gave its key back: with another quantity it is a new restock, not a reused key.
    expect((await restock(5, 'restock-key-1')).status).toBe(200);
    const last = await restock(5, 'restock-key-2');
    expect([last.status, last.body.availableStock]).toEqual([200, MAX_PRODUCT_STOCK]);
    expect((await restock(5, 'restock-key-2')).body.availableStock).toBe(MAX_PRODUCT_STOCK);
    expect((await restock(1)).status).toBe(409);
    expect(await stockOf(stack.db, product.id)).toBe(MAX_PRODUCT_STOCK);
  });

  it('signs in (demo) only identities of the shapes the contract takes; a store no store has is 422 UNKNOWN_STORE', async () => {
    for (const body of [{ role: 'customer', sub: 'c\u0000' }, { role: 'customer', sub: 'a b' }, { role: 'store', store: 'Gangnam Store' }]) {
      expect((await call('POST', '/dev/login', body, null)).status, JSON.stringify(body)).toBe(400);
    }
    const unknown = await call('POST', '/dev/login', { role: 'store', store: 'no-such-store' }, null);
    expect([unknown.status, unknown.body.code]).toEqual([422, 'UNKNOWN_STORE']);
    expect((await call('POST', '/dev/login', { role: 'store', store: demoStore.id }, null)).status).toBe(200);
  });
});

// The three at once: each waits on the API far more than it computes, and a customer's requests
// meet the state an admin's change left (a closed sale, a restock) as they would in use.
describe.concurrent('the contract fuzzer', () => {
  it.for(ROLES)('passes every check on every operation as $principal.role', { timeout: 600_000 + EXAMPLES * 30_000 }, async ({ principal, exclude }, { expect }) => {
    expect(schemathesis, 'schemathesis could not be installed from PyPI into .tools/schemathesis').toBeDefined();
    const args = [
      '--config-file', path.join(here, 'schemathesis.toml'),
      'run', `${server.url}/openapi.json`,
      '--checks', 'all',
      '--header', `Authorization: Bearer ${await tokenFor(principal)}`,
      ...exclude,
      '--max-examples', String(EXAMPLES),
      '--seed', process.env.CONTRACT_SEED ?? '20261126',
      // One thread: CPython 3.11.7's ast.parse (which hypothesis calls to describe a filter) is not
      // thread-safe (gh-106905): two workers crashed the fuzzer with "AST constructor recursion depth mismatch".
      '--workers', '1',
      '--no-color',
    ];
    const started = Date.now();
    const run = spawn(schemathesis!, args, { cwd: here, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CONTRACT_ROLE: principal.role } });
    let out = '';
    run.stdout!.on('data', (d) => (out += d));
    run.stderr!.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => run.once('exit', resolve));
    // The whole report, for when the tail in the failure message is not enough.
    const report = path.join(tmpdir(), `tshop-contract-${principal.role}.txt`);
    writeFileSync(report, out);
    console.log(`[contract] ${principal.role}: ${/Operations:\s+.*/.exec(out)?.[0] ?? '?'}; ${/\d+ generated.*/.exec(out)?.[0] ?? '?'} in ${Math.round((Date.now() - started) / 1000)} s (${report})`);
    expect(code, `${out.slice(-8_000)}\n(the whole report: ${report})`).toBe(0);
    expect(out).toMatch(/generated, \d+ passed/);
  });
});

/** Each part runs alone, configured only by environment variables: infra, worker, API. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { waitUntil } from '../../platform/process.js';
import { signToken } from '../../platform/auth.js';
import { serverPids, launchScript, type Launched } from '../../dev/stack.js';
import { allGone, killQuietly } from '../helpers.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'tshop-parts-'));
const launched: Launched[] = [];
afterAll(() => {
  for (const l of launched) l.kill();
  for (const pid of serverPids(dataDir)) killQuietly(pid);
  rmSync(dataDir, { recursive: true, force: true });
});
const run = (script: string, env: Record<string, string>) => {
  const l = launchScript(script, { LOG_LEVEL: 'warn', API_METRICS_PORT: '0', ...env });
  launched.push(l);
  return l;
};

it('start:infra, start:assignment, start:worker and start:api run as separate processes and serve together', async () => {
  const missing = run('start:api', { DATABASE_URL: '', TEMPORAL_ADDRESS: '' });
  expect((await missing.exit).code).not.toBe(0);
  expect(missing.stderr()).toMatch(/tshop: DATABASE_URL and TEMPORAL_ADDRESS must be set/);

  const infra = run('start:infra', { DATA_DIR: dataDir, PG_PORT: '25452', TEMPORAL_PORT: '17253', TEMPORAL_UI_PORT: '18253' });
  await infra.waitForOutput('Press Ctrl-C to stop.');
  const DATABASE_URL = /export DATABASE_URL='([^']+)'/.exec(infra.stdout())![1]!;
  const TEMPORAL_ADDRESS = /export TEMPORAL_ADDRESS='([^']+)'/.exec(infra.stdout())![1]!;
  expect(TEMPORAL_ADDRESS).toBe('127.0.0.1:17253');

  const assignment = run('start:assignment', { DATABASE_URL, DATA_DIR: dataDir, ASSIGNMENT_PORT: '18099' });
  await assignment.waitForOutput('assignment service listening');
  const services = { DATABASE_URL, TEMPORAL_ADDRESS, DATA_DIR: dataDir, ASSIGNMENT_URL: 'http://127.0.0.1:18099' };
  const api = run('start:api', { ...services, PORT: '18098', API_METRICS_PORT: '18097' });
  await api.waitForOutput('API listening');
  const base = 'http://127.0.0.1:18098';
  // Metrics on their own port, on loopback unless API_METRICS_HOST says otherwise; never on the API's.
  await api.waitForOutput('its metrics on http://127.0.0.1:18097/metrics');
  expect(await (await fetch('http://127.0.0.1:18097/metrics')).text()).toMatch(/^process_cpu_user_seconds_total /m);
  expect((await fetch(`${base}/metrics`)).status).toBe(401);
  const secret = readFileSync(path.join(dataDir, 'jwt-secret'), 'utf8').trim();
  const auth = { authorization: `Bearer ${await signToken(secret, { role: 'admin', sub: 'parts-test' })}` };
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  // Up but not ready: no worker polls the task queue yet.
  const notReady = await fetch(`${base}/readyz`);
  expect(notReady.status).toBe(503);
  // Public probe: fixed words, never the task queue, an address or a driver's message.
  expect(await notReady.json()).toMatchObject({ checks: { database: { ok: true }, temporal: { ok: true }, worker: { ok: false, detail: 'no worker polling' } } });

  const worker = run('start:worker', services);
  await worker.waitForOutput('worker polling');
  expect(await waitUntil(async () => (await fetch(`${base}/readyz`)).status === 200, 20_000, 200)).toBe(true);
  const res = await fetch(`${base}/reservations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify({ productId: 1, customer: { id: 'c-7', latitude: 37.5665, longitude: 126.978 } }),
  });
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  // The worker reached the assignment service: a store near Seoul City Hall took it.
  expect(
    await waitUntil(async () => ((await (await fetch(`${base}/reservations/${id}`, { headers: auth })).json()) as { status: string }).status === 'CONFIRMED', 20_000, 200),
  ).toBe(true);

  worker.child.kill('SIGTERM');
  expect((await worker.exit).code).toBe(0);

  api.child.kill('SIGTERM');
  expect((await api.exit).code).toBe(0);
  assignment.child.kill('SIGTERM');
  expect((await assignment.exit).code).toBe(0);
  const pids = serverPids(dataDir);
  infra.child.kill('SIGTERM');
  expect((await infra.exit).code).toBe(0);
  expect(await allGone(pids)).toBe(true);
});

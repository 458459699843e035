/**
 * `npm run test:deploy`: the production path, from the Dockerfiles to the seed's scenario. Builds
 * the base images (cached), the product's and Temporal's images, brings docker-compose.yml up with
 * the Web UI profile, and talks to the published API port only. Fails, never skips, without a
 * container engine it can install.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, client, customerToken, eventually, type Body } from './client.js';
import { engineName, type Engine } from './engine.js';
import { footprint, record } from './footprint.js';
import { bringUp, takeDown, type Stack } from './stack.js';

const log = (line: string) => console.log(`[deploy] ${line}`);
const API_PORT = Number(process.env.DEPLOY_API_PORT ?? 18088);
let engine: Engine;
let stack: Stack;

let api: ReturnType<typeof client>;

beforeAll(async () => {
  ({ engine, stack } = await bringUp({ project: 'tshop-deploy-test', apiPort: API_PORT, profiles: ['operator-ui'], log }));
  api = client(stack.apiUrl);
}, 45 * 60_000);

afterAll(() => takeDown(engine, stack), 120_000);

describe('the compose stack', () => {
  let secret: string;
  let admin: string;
  let alice: string;
  beforeAll(async () => {
    secret = stack.env.JWT_SECRET!;
    admin = await adminToken(secret);
    alice = await customerToken(secret, 'c-1');
  });

  const stockOf = async (productId: number) => (await api(admin, 'GET', `/products/${productId}`)).body.availableStock as number;

  let confirmedId = '';
  it('runs the seed scenario through the published API port: reserve, confirmed at a store, cancel, stock back, KakaoTalk messages', async () => {
    const before = await stockOf(1);
    const reserved = await api(alice, 'POST', '/reservations', { productId: 1, customer: { district: '강남구' } }, { 'idempotency-key': 'deploy-1' });
    expect(reserved.status, JSON.stringify(reserved.body)).toBe(201);
    const id = reserved.body.id as string;
    // The product's read model follows the stock within a moment.
    expect(await eventually(() => stockOf(1), (s) => s === before - 1)).toBe(before - 1);

    const confirmed = await eventually(() => api(alice, 'GET', `/reservations/${id}`), (r) => r.body.status === 'CONFIRMED');
    expect(confirmed.body.store?.id).toBeTruthy();

    const cancelled = await api(alice, 'POST', `/reservations/${id}/cancel`, { reason: 'deploy test' });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBeLessThan(300);
    await eventually(() => api(alice, 'GET', `/reservations/${id}`), (r) => r.body.status === 'CANCELLED');
    expect(await eventually(() => stockOf(1), (s) => s === before)).toBe(before);

    // What reached the phone, through the notifier and the Kakao-compatible sink, in order and once each.
    const delivered = await eventually(
      async () => stack.jsonLogs('kakao-sink').flatMap((l) => (l.delivered ? [l.delivered as Body] : [])).filter((m) => m.reservationId === id),
      (m) => m.length >= 3,
    );
    expect(delivered.map((m) => m.kind)).toEqual(['ACCEPTED', 'CONFIRMED', 'CANCELLED']);
    const listed = await eventually(() => api(alice, 'GET', `/reservations/${id}/notifications`), (r) => r.body.items?.every((n: Body) => n.status === 'SENT') && r.body.items.length === 3);
    expect(listed.body.items.map((n: Body) => n.kind)).toEqual(['ACCEPTED', 'CONFIRMED', 'CANCELLED']);

    // One more, left CONFIRMED: its workflow must outlive `down` and `up`.
    const kept = await api(alice, 'POST', '/reservations', { productId: 1, customer: { district: '마포구' } }, { 'idempotency-key': 'deploy-2' });
    expect(kept.status).toBe(201);
    confirmedId = kept.body.id as string;
    await eventually(() => api(alice, 'GET', `/reservations/${confirmedId}`), (r) => r.body.status === 'CONFIRMED');
  }, 240_000);

  it('publishes the API only (the Web UI and its codec on the host loopback with their profile)', async () => {
    const published = JSON.parse(`[${stack.compose(['ps', '--format', 'json'], { quiet: true }).trim().split('\n').join(',')}]`) as Body[];
    const ports = published.flatMap((c) => (c.Publishers ?? []).filter((p: Body) => p.PublishedPort).map((p: Body) => `${c.Service} ${p.URL || '0.0.0.0'}:${p.PublishedPort}`));
    expect(ports.sort()).toEqual([`api 0.0.0.0:${API_PORT}`, 'codec 127.0.0.1:8091', 'temporal-ui 127.0.0.1:8233']);
    // Nothing answers on the other services' usual ports.
    for (const port of [5432, 7233, 7234, 7235, 7239, 8089]) {
      const open = await new Promise<boolean>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port }, () => (socket.destroy(), resolve(true))).on('error', () => resolve(false));
      });
      expect(open, `port ${port}`).toBe(false);
    }
  });

  it('shows decrypted payloads in the Web UI through the codec endpoint', async () => {
    const workflowId = `reservation-${confirmedId}`;
    const history = (await (await fetch(`http://127.0.0.1:8233/api/v1/namespaces/default/workflows/${workflowId}/history?maximumPageSize=50`)).json()) as Body;
    const payloads = history.history.events.flatMap((e: Body) => e.workflowExecutionStartedEventAttributes?.input?.payloads ?? []);
    expect(payloads.length).toBeGreaterThan(0);
    expect(Buffer.from(payloads[0].metadata.encoding, 'base64').toString()).toBe('binary/encrypted');
    // The UI sends the operators' browsers to the codec endpoint on the host's loopback ...
    const settings = (await (await fetch('http://127.0.0.1:8233/api/v1/settings')).json()) as Body;
    expect(settings.Codec?.Endpoint).toBe('http://127.0.0.1:8091');
    // ... which opens payloads for an admin's token (the UI passes its login's once TEMPORAL_UI_AUTH_ENABLED is on) ...
    const anonymous = await fetch('http://127.0.0.1:8091/decode', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', origin: 'http://localhost:8233' },
      body: JSON.stringify({ payloads }),
    });
    // ... and for nobody else: without the UI's login, the browser is shown the sealed payloads.
    expect(anonymous.status).toBe(401);
    const decoded = await fetch('http://127.0.0.1:8091/decode', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', authorization: `Bearer ${admin}`, origin: 'http://localhost:8233' },
      body: JSON.stringify({ payloads }),
    });
    expect(decoded.status, await decoded.clone().text()).toBe(200);
    const plain = ((await decoded.json()) as Body).payloads[0];
    expect(Buffer.from(plain.metadata.encoding, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(plain.data, 'base64').toString())).toMatchObject({ reservationId: confirmedId });
  });

  it('keeps every reservation and workflow through down and up', async () => {
    stack.compose(['down', '--timeout', '20']);
    stack.compose(['up', '--detach', '--no-build']);
    await stack.ready();
    const after = await api(alice, 'GET', `/reservations/${confirmedId}`);
    expect(after.body.status).toBe('CONFIRMED');
    // Its workflow is alive: the cancel runs its compensation.
    const cancelled = await api(alice, 'POST', `/reservations/${confirmedId}/cancel`, { reason: 'after restart' });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBeLessThan(300);
    await eventually(() => api(alice, 'GET', `/reservations/${confirmedId}`), (r) => r.body.status === 'CANCELLED');
    // As operators see it in the Web UI (its server's API): the workflow completed, found by its search attribute.
    const ui = (path: string) => fetch(`http://127.0.0.1:8233/api/v1/namespaces/default/${path}`).then((r) => r.json() as Promise<Body>);
    // It ends once the customer has been told (the notifier's message for the cancellation).
    const ended = await eventually(() => ui(`workflows/reservation-${confirmedId}`), (w) => w.workflowExecutionInfo?.status !== 'WORKFLOW_EXECUTION_STATUS_RUNNING');
    expect(ended.workflowExecutionInfo.status).toBe('WORKFLOW_EXECUTION_STATUS_COMPLETED');
    const listed = await eventually(
      () => ui(`workflows?query=${encodeURIComponent(`ReservationStatus = 'CANCELLED'`)}`),
      (l) => (l.executions ?? []).some((e: Body) => e.execution.workflowId === `reservation-${confirmedId}`),
    );
    expect(listed.executions.length).toBeGreaterThanOrEqual(2);
    // The Schedules run on the split cluster (its internal worker service): the reconciler's, every minute.
    const schedule = await eventually(() => ui('schedules/tshop-reconciler'), (d) => Number(d.info?.actionCount ?? 0) >= 1, 150_000);
    expect(Number(schedule.info.actionCount)).toBeGreaterThanOrEqual(1);
    const schedules = ((await ui('schedules')).schedules as Body[]).map((x) => x.scheduleId);
    expect(schedules.sort()).toEqual(['tshop-notify-drain', 'tshop-reconciler', 'tshop-retention']);
  }, 600_000);

  it('reports each image and each idle container (proportional resident MiB)', async () => {
    await new Promise((r) => setTimeout(r, 30_000));
    const measured = footprint(engine, stack);
    log(`images (MB): ${JSON.stringify(measured.images)}`);
    log(`idle memory (PSS, MiB): ${JSON.stringify(measured.containers)}`);
    for (const [name, mib] of Object.entries(measured.containers)) expect(mib, name).toBeGreaterThan(0);
    record({ what: 'test:deploy footprint: image sizes (MB) and idle resident memory per container (MiB, proportional set size summed over its processes), 30 s after the scenario', engine: engineName, ...measured });
  }, 120_000);
});

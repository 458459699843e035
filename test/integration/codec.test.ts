/**
 * Payload encryption (PAYLOAD_KEYS) against the real servers: histories hold ciphertext only, a
 * plain-JSON signal from the CLI or the Web UI still works, and a new key takes over while
 * reservations sealed with the old one carry on.
 */
import { demoPhoneFor } from '../../db/data/demo.js';
import { randomBytes } from 'node:crypto';
import { Client } from '@temporalio/client';
import { expect, it } from 'vitest';
import { dataConverterFor, EncryptionCodec } from '../../platform/codec.js';
import { cancelSignal, reservationWorkflowId } from '../../app/reservation/contract.js';
import { notifyDrainScheduleId } from '../../shared/queues.js';
import { eventually, historyText, newProduct, newStore, startTestWorker, testApp, useTestStack } from '../helpers.js';

const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };
const stack = useTestStack({ worker: false });

it('seals every payload, lets plain-JSON signals through, and rotates keys without stopping reservations', { timeout: 90_000 }, async () => {
  const { db, connection } = stack;
  const taskQueue = `codec-${Date.now()}`;
  const product = await newProduct(db, 3);
  const store = await newStore(db, 5);
  const clientWith = (keys: (typeof k1)[]) => new Client({ connection, dataConverter: dataConverterFor(keys)! });
  const reserve = async (client: Client, name: string) => {
    const res = await testApp(db, client, taskQueue).request('/reservations', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ productId: product.id, customer: { id: `c-codec-${name}`, phone: demoPhoneFor(`c-codec-${name}`), latitude: store.latitude, longitude: store.longitude } }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };
  const statusOf = async (id: string) => (await db.selectFrom('reservations').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;

  // The Python notifier seals and opens with the same keys (notifier/codec.py).
  const keysEnv = (keys: (typeof k1)[]) => ({ PAYLOAD_KEYS: keys.map((k) => `${k.id}:${k.key.toString('base64')}`).join(',') });
  let worker = await startTestWorker(db, { assignmentUrl: stack.assignment.url, taskQueue, dataConverter: dataConverterFor([k1]), notifier: keysEnv([k1]) });
  const first = await reserve(clientWith([k1]), 'first');
  await eventually(() => statusOf(first), (s) => s === 'CONFIRMED', 30_000);
  const sentKinds = async (id: string) =>
    (await db.selectFrom('notifications').select('kind').where('reservation_id', '=', id).where('sent_at', 'is not', null).orderBy('id').execute()).map((n) => n.kind);
  await eventually(() => sentKinds(first), (k) => k.length === 2);

  // What Temporal stores: sealed payloads, named by key; nothing of the input readable.
  const plainClient = new Client({ connection });
  const history = await plainClient.workflow.getHandle(reservationWorkflowId(first)).fetchHistory();
  const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  expect(Buffer.from(input.metadata!.encoding!).toString()).toBe('binary/encrypted');
  expect(Buffer.from(input.metadata!['encryption-key-id']!).toString()).toBe('k1');
  const text = await historyText(plainClient.workflow.getHandle(reservationWorkflowId(first)));
  expect(text).not.toContain('assignmentDeadlineMs');
  expect(text).not.toContain('"PICKUP"');

  // A new key takes over; the old one still opens what it sealed, in the worker that replays it.
  await worker.stop();
  worker = await startTestWorker(db, { assignmentUrl: stack.assignment.url, taskQueue, dataConverter: dataConverterFor([k2, k1]), notifier: keysEnv([k2, k1]) });
  const second = await reserve(clientWith([k2, k1]), 'second');
  await eventually(() => statusOf(second), (s) => s === 'CONFIRMED', 30_000);
  expect(await eventually(() => sentKinds(second), (k) => k.length === 2)).toEqual(['ACCEPTED', 'CONFIRMED']);
  // The notifier's activity input (its drain's, scheduled by the worker with the new key) is sealed too, and named by it.
  const scheduled = sealedByEvents(await drainHistory(plainClient, taskQueue));
  expect(scheduled).toEqual([{ type: 'notifyPending', encoding: 'binary/encrypted', key: 'k2' }]);
  const sealedBy = await plainClient.workflow.getHandle(reservationWorkflowId(second)).fetchHistory();
  expect(Buffer.from(sealedBy.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!.metadata!['encryption-key-id']!).toString()).toBe('k2');

  // An operator's signal with plain JSON input (the CLI, the Web UI): no codec, still understood.
  await plainClient.workflow.getHandle(reservationWorkflowId(first)).signal(cancelSignal, { reason: 'operator, plain JSON' });
  await eventually(() => statusOf(first), (s) => s === 'CANCELLED', 30_000);
  await worker.stop();

  // A process without the key that sealed a payload cannot read it.
  const sealed = await new EncryptionCodec([k1]).encode([{ metadata: {}, data: new TextEncoder().encode('{"secret":1}') }]);
  await expect(new EncryptionCodec([k2]).decode(sealed)).rejects.toThrow(/key "k1"/);
  expect(new TextDecoder().decode((await new EncryptionCodec([k2, k1]).decode(sealed))[0]!.data!)).toBe('{"secret":1}');
});

/** The history of the notification drain its Schedule started last for `taskQueue`, once it has called the notifier. */
async function drainHistory(client: Client, taskQueue: string) {
  const { info } = await client.schedule.getHandle(notifyDrainScheduleId(taskQueue)).describe();
  const run = client.workflow.getHandle(info.recentActions.at(-1)!.action.workflow.workflowId);
  return eventually(
    () => run.fetchHistory(),
    (h) => (h.events ?? []).some((e) => e.activityTaskScheduledEventAttributes),
  );
}

/** The notifier calls in a history: activity type and how its input was sealed. */
function sealedByEvents(history: Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>) {
  return (history.events ?? [])
    .map((e) => e.activityTaskScheduledEventAttributes)
    .filter((a) => a?.activityType?.name === 'notifyPending')
    .map((a) => {
      const meta = a!.input!.payloads![0]!.metadata!;
      return { type: a!.activityType!.name, encoding: Buffer.from(meta.encoding!).toString(), key: Buffer.from(meta['encryption-key-id']!).toString() };
    });
}

it('the codec endpoint opens sealed payloads for operators only: an admin token not revoked; tokenless only in development, from this host, naming it', async () => {
  const { createCodecApp } = await import('../../api/codec/app.js');
  const { createRevocationList } = await import('../../api/revocations.js');
  const { tokenVerifier } = await import('../../api/auth.js');
  const { DEFAULT_TOKEN_POLICY, signToken } = await import('../../platform/auth.js');
  const { listen } = await import('../../platform/http.js');
  const { createLogger } = await import('../../platform/log.js');
  const { revokeToken } = await import('../../api/revocation-repository.js');
  const { request } = await import('node:http');
  const { ADMIN, tokenFor, TEST_JWT_SECRET } = await import('../helpers.js');
  const ui = 'http://localhost:8233';
  const revokedAdmin = await signToken(TEST_JWT_SECRET, ADMIN);
  const revokedJti = JSON.parse(Buffer.from(revokedAdmin.split('.')[1]!, 'base64url').toString()).jti as string;
  await revokeToken(stack.db, { jti: revokedJti, revokedBy: 'codec-test', until: new Date(Date.now() + 3_600_000) });
  const revocations = createRevocationList(stack.db, createLogger('codec-test', 'error'));
  const appWith = (trustLoopback: boolean) =>
    createCodecApp({
      codec: new EncryptionCodec([k2, k1]),
      origins: [ui],
      verifyToken: tokenVerifier(TEST_JWT_SECRET, { ...DEFAULT_TOKEN_POLICY, isRevoked: revocations.isRevoked }),
      revocationsReady: revocations.ready,
      trustLoopback,
    });
  const plain = { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('{"reason":"secret"}').toString('base64') };
  /** A POST over a real connection, with any Host header (fetch would not send a foreign one). */
  const post = (url: string, op: string, body: unknown, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${url}/${op}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers } }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  const bearer = async (p: Parameters<typeof tokenFor>[0]) => ({ authorization: `Bearer ${await tokenFor(p)}` });

  // In production (no development setting): an admin token, nothing less, from anywhere.
  const strict = await listen(appWith(false).fetch, '127.0.0.1', 0, 'codec test, strict');
  try {
    const sealed = await post(strict.url, 'encode', { payloads: [plain] }, await bearer(ADMIN));
    expect(sealed.status).toBe(200);
    const sealedBody = JSON.parse(sealed.body) as { payloads: { metadata: Record<string, string>; data: string }[] };
    expect(Buffer.from(sealedBody.payloads[0]!.metadata['encryption-key-id']!, 'base64').toString()).toBe('k2');
    expect(Buffer.from(sealedBody.payloads[0]!.data, 'base64').toString()).not.toContain('secret');
    const opened = JSON.parse((await post(strict.url, 'decode', sealedBody, await bearer(ADMIN))).body) as typeof sealedBody;
    expect(Buffer.from(opened.payloads[0]!.data, 'base64').toString()).toBe('{"reason":"secret"}');
    // This host's own caller, no token: refused (a proxy, tunnel or port-forward would make anyone this caller).
    expect((await post(strict.url, 'decode', { payloads: [plain] })).status).toBe(401);
    expect((await post(strict.url, 'decode', { payloads: [plain] }, await bearer({ role: 'customer', sub: 'c-1' }))).status).toBe(401);
    const revoked = await post(strict.url, 'decode', { payloads: [plain] }, { authorization: `Bearer ${revokedAdmin}` });
    expect(revoked.status).toBe(401);
    expect(revoked.body).not.toContain('secret');
    // A page of another origin is refused even with an admin's token; the Web UI's own is allowed.
    expect((await post(strict.url, 'decode', { payloads: [plain] }, { ...(await bearer(ADMIN)), origin: 'https://evil.example' })).status).toBe(403);
    expect((await post(strict.url, 'decode', { payloads: [plain] }, { ...(await bearer(ADMIN)), origin: ui })).status).toBe(200);
    const preflight = (origin: string) => fetch(`${strict.url}/decode`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' } });
    expect((await preflight(ui)).headers.get('access-control-allow-origin')).toBe(ui);
    expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
    expect((await post(strict.url, 'decode', { nope: 1 }, await bearer(ADMIN))).status).toBe(400);
  } finally {
    await strict.close();
  }

  // With the development setting (npm start's dev server UI has no login): tokenless from this host, naming it.
  const dev = appWith(true);
  const local = await listen(dev.fetch, '127.0.0.1', 0, 'codec test, development');
  try {
    const port = new URL(local.url).port;
    expect((await post(local.url, 'decode', { payloads: [plain] }, { host: `127.0.0.1:${port}` })).status).toBe(200);
    expect((await post(local.url, 'decode', { payloads: [plain] }, { host: `localhost:${port}`, origin: ui })).status).toBe(200);
    // DNS rebinding: a page at a foreign name that now resolves here sends that name as Host.
    expect((await post(local.url, 'decode', { payloads: [plain] }, { host: `rebound.evil.example:${port}` })).status).toBe(401);
    expect((await post(local.url, 'decode', { payloads: [plain] }, { host: `127.0.0.1:${port}`, origin: 'http://rebound.evil.example' })).status).toBe(403);
  } finally {
    await local.close();
  }
  // A caller on another host (the connection's address, as the Node server reports it), naming this one: a token is needed.
  const from = (remoteAddress: string, headers: Record<string, string> = {}) =>
    dev.request('http://127.0.0.1/decode', { method: 'POST', headers: { host: '127.0.0.1', 'content-type': 'application/json', ...headers }, body: JSON.stringify({ payloads: [plain] }) }, { incoming: { socket: { remoteAddress } } });
  expect((await from('127.0.0.1')).status).toBe(200);
  expect((await from('::1')).status).toBe(200);
  expect((await from('203.0.113.7')).status).toBe(401);
  expect((await from('10.1.2.3')).status).toBe(401);
  expect((await from('203.0.113.7', await bearer({ role: 'customer', sub: 'c-1' }))).status).toBe(401);
  expect((await from('203.0.113.7', await bearer(ADMIN))).status).toBe(200);
});

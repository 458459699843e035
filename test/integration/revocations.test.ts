/**
 * The API's list of revoked tokens fails closed: until its first read, and once its last read is
 * older than it may be trusted (reads failing), no token is accepted (503, Retry-After) and
 * readiness says not ready; a read that comes back lets tokens in again.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { createDb } from '../../db/client.js';
import { openDatabase } from '../../db/open.js';
import { revokeToken } from '../../api/revocation-repository.js';
import { createRevocationList } from '../../api/revocations.js';
import { createLogger } from '../../platform/log.js';
import { connectClient, testApp } from '../helpers.js';
import { inject } from 'vitest';

const log = createLogger('revocations-test', 'error');
const nowhere = createDb('postgres://nobody:secret@127.0.0.1:9/none', { max: 1 });
afterAll(() => nowhere.destroy());

it('is not trusted before its first read, and a revocation in PostgreSQL is known after it', async () => {
  const db = await openDatabase(inject('databaseUrl'));
  try {
    const jti = `revoked-${randomUUID()}`;
    await revokeToken(db, { jti, revokedBy: 'test', until: new Date(Date.now() + 60_000) });
    const unreadable = createRevocationList(nowhere, log);
    expect(unreadable.trusted()).toBe(false);
    expect(await unreadable.ready(500)).toBe(false);
    expect(unreadable.ageMs()).toBe(Infinity);

    const list = createRevocationList(db, log);
    expect(await list.ready()).toBe(true);
    expect(list.isRevoked(jti)).toBe(true);
    expect(list.isRevoked(`other-${randomUUID()}`)).toBe(false);
  } finally {
    await db.destroy();
  }
});

it('stops being trusted once its reads fail for longer than it may be trusted, and keeps what it knew', async () => {
  // A database of its own to break: destroyed, every later read fails.
  const db = await openDatabase(inject('databaseUrl'));
  const jti = `revoked-${randomUUID()}`;
  await revokeToken(db, { jti, revokedBy: 'test', until: new Date(Date.now() + 60_000) });
  const list = createRevocationList(db, log, { refreshMs: 10, maxStaleMs: 300 });
  expect(await list.ready()).toBe(true);
  await db.destroy();
  await new Promise((r) => setTimeout(r, 400));
  expect(list.trusted()).toBe(false);
  expect(await list.ready(200)).toBe(false);
  expect(list.isRevoked(jti)).toBe(true);
});

it('the API refuses every token while it cannot read revocations, and readiness says why', async () => {
  const { connection, client } = await connectClient();
  try {
    const app = testApp(nowhere, client, `no-revocations-${Date.now()}`).app;
    // Any route behind a token: the refusal comes before the route, whatever it needs.
    const { tokenFor } = await import('../helpers.js');
    const res = await app.request('/tokens/revocations', {
      method: 'POST',
      headers: { authorization: `Bearer ${await tokenFor({ role: 'admin', sub: 'a-1' })}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jti: 'x' }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('retry-after')).toBe('5');
    expect(((await res.json()) as { detail: string }).detail).toMatch(/revoked tokens could not be read/);
    const ready = await app.request('/readyz');
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { revocations: unknown } }).checks.revocations).toEqual({ ok: false, detail: 'revoked tokens not read lately' });
  } finally {
    await connection.close();
  }
});

/** Bearer tokens: what verifies, and everything that must not. */
import { sign } from 'hono/jwt';
import { describe, expect, it } from 'vitest';
import { acceptClaims, DEFAULT_TOKEN_POLICY, signToken, verifyToken, type TokenPolicy } from '../../platform/auth.js';

const SECRET = 'unit-test-secret-unit-test-secret-0123456789';
const now = () => Math.floor(Date.now() / 1000);
const claims = (extra: Record<string, unknown> = {}) => ({ iss: 'tshop-reserve', sub: 'c-1', role: 'customer', jti: 'j-1', iat: now(), exp: now() + 600, ...extra });
/** A principal as a verified token gives it: with the token's id and expiry. */
const fromToken = (p: object) => ({ ...p, jti: expect.any(String), exp: expect.any(Number) });

describe('signToken and verifyToken', () => {
  it('round-trip each kind of principal', async () => {
    for (const principal of [
      { role: 'customer', sub: 'c-1' },
      { role: 'store', sub: 'staff-1', storeId: 'gangnam' },
      { role: 'admin', sub: 'ops-1' },
    ] as const) {
      expect(await verifyToken(SECRET, await signToken(SECRET, principal))).toEqual(fromToken(principal));
    }
  });

  it('give every token its own jti, so one can be revoked alone', async () => {
    const [a, b] = await Promise.all([signToken(SECRET, { role: 'customer', sub: 'c-1' }), signToken(SECRET, { role: 'customer', sub: 'c-1' })]);
    const jti = (t: string) => JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()).jti as string;
    expect(jti(a)).not.toBe(jti(b));
    const revoked: TokenPolicy = { ...DEFAULT_TOKEN_POLICY, isRevoked: (id) => id === jti(a) };
    expect(await verifyToken(SECRET, a, revoked)).toBeUndefined();
    expect(await verifyToken(SECRET, b, revoked)).toEqual(fromToken({ role: 'customer', sub: 'c-1' }));
  });

  it('refuse another secret, a changed payload, a changed algorithm, and what is no JWT', async () => {
    const token = await signToken(SECRET, { role: 'customer', sub: 'c-1' });
    expect(await verifyToken(`${SECRET}x`, token)).toBeUndefined();
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), role: 'admin' })).toString('base64url');
    expect(await verifyToken(SECRET, `${header}.${forged}.${signature}`)).toBeUndefined();
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    expect(await verifyToken(SECRET, `${none}.${payload}.`)).toBeUndefined();
    expect(await verifyToken(SECRET, `${none}.${payload}.${signature}`)).toBeUndefined();
    for (const junk of ['', 'a.b', 'a.b.c.d', `${token}.x`]) expect(await verifyToken(SECRET, junk)).toBeUndefined();
  });

  it('refuse expired tokens (beyond 30 s of leeway), and lifetimes longer than the role allows', async () => {
    expect(await verifyToken(SECRET, await signToken(SECRET, { role: 'customer', sub: 'c-1' }, -31))).toBeUndefined();
    expect(await verifyToken(SECRET, await signToken(SECRET, { role: 'customer', sub: 'c-1' }, -5))).toBeDefined();
    // An admin token lives an hour at most; a customer's a day.
    expect(await verifyToken(SECRET, await signToken(SECRET, { role: 'admin', sub: 'ops-1' }, 3_601))).toBeUndefined();
    expect(await verifyToken(SECRET, await signToken(SECRET, { role: 'customer', sub: 'c-1' }, 86_400))).toBeDefined();
  });

  it("refuse another issuer's token signed with the same secret", async () => {
    const token = await sign(claims({ iss: 'someone-else' }), SECRET, 'HS256');
    expect(await verifyToken(SECRET, token)).toBeUndefined();
    expect(await verifyToken(SECRET, await sign(claims(), SECRET, 'HS256'))).toEqual(fromToken({ role: 'customer', sub: 'c-1' }));
  });
});

describe('acceptClaims', () => {
  const accept = (extra: Record<string, unknown>) => acceptClaims(claims(extra), DEFAULT_TOKEN_POLICY);

  it('takes a subject of 1–64 characters with no control character (it becomes a customer id, a log field and a search attribute)', () => {
    expect(accept({ sub: 'kc-7f3a' })).toBeDefined();
    expect(accept({ sub: '김민수-1' })).toBeDefined();
    expect(accept({ sub: 'x'.repeat(64) })).toBeDefined();
    for (const sub of ['', 'x'.repeat(65), 'c-1\nc-2', 'c-1\u0000', 'tab\there', 'del\u007f', 42]) expect(accept({ sub }), JSON.stringify(sub)).toBeUndefined();
  });

  it('needs a subject, a known role, a store for store staff, an exp and a jti', () => {
    expect(accept({})).toEqual(fromToken({ role: 'customer', sub: 'c-1' }));
    expect(accept({ sub: '' })).toBeUndefined();
    expect(accept({ sub: 'x'.repeat(65) })).toBeUndefined();
    expect(accept({ role: 'root' })).toBeUndefined();
    expect(accept({ role: 'store' })).toBeUndefined();
    expect(accept({ role: 'store', store: '' })).toBeUndefined();
    expect(accept({ role: 'store', store: 'gangnam' })).toEqual(fromToken({ role: 'store', sub: 'c-1', storeId: 'gangnam' }));
    expect(accept({ exp: undefined })).toBeUndefined();
    expect(accept({ jti: undefined })).toBeUndefined();
    expect(accept({ jti: 'x'.repeat(129) })).toBeUndefined();
  });

  it('refuses tokens not valid yet or issued in the future (beyond the leeway)', () => {
    expect(accept({ nbf: now() + 60 })).toBeUndefined();
    expect(accept({ nbf: now() + 10 })).toBeDefined();
    expect(accept({ iat: now() + 60, exp: now() + 120 })).toBeUndefined();
    expect(accept({ nbf: 'soon' })).toBeUndefined();
  });

  it("reads an identity provider's own claim names", () => {
    const idp = { sub: 'u-9', groups: 'store', shop: 'jamsil', jti: 'j', exp: now() + 60 };
    const names = { role: 'groups', store: 'shop' };
    expect(acceptClaims(idp, DEFAULT_TOKEN_POLICY, names)).toEqual(fromToken({ role: 'store', sub: 'u-9', storeId: 'jamsil' }));
    // Only under those names: our own claim names mean nothing in its tokens.
    expect(acceptClaims({ ...idp, shop: undefined, store: 'jamsil' }, DEFAULT_TOKEN_POLICY, names)).toBeUndefined();
    expect(acceptClaims({ ...idp, groups: undefined, role: 'store' }, DEFAULT_TOKEN_POLICY, names)).toBeUndefined();
  });
});

describe("a customer's identity", () => {
  const accept = (extra: Record<string, unknown>) => acceptClaims(claims(extra), DEFAULT_TOKEN_POLICY);

  it('takes the name and the number a provider verified, the number in E.164', () => {
    expect(accept({ name: '홍길동', phone_number: '010-1234-5678', phone_number_verified: true })).toMatchObject({ name: '홍길동', phone: '+821012345678' });
    expect(accept({ phone_number: '+82 10 1234 5678', phone_number_verified: true })).toMatchObject({ phone: '+821012345678' });
  });

  it('ignores a number not verified, not a number, or not a string, and a name that is no name', () => {
    for (const extra of [
      { phone_number: '010-1234-5678' },
      { phone_number: '010-1234-5678', phone_number_verified: 'true' },
      { phone_number: '12345', phone_number_verified: true },
      { phone_number: 1012345678, phone_number_verified: true },
    ]) {
      expect(accept(extra), JSON.stringify(extra)).not.toHaveProperty('phone');
    }
    for (const name of ['', '   ', 'a\u0000b', 'x'.repeat(41), 42]) expect(accept({ name })).not.toHaveProperty('name');
  });

  it('is what our own customer tokens carry, verified', async () => {
    const token = await signToken(SECRET, { role: 'customer', sub: 'c-1', name: '김민수', phone: '+821011110001' });
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(payload).toMatchObject({ name: '김민수', phone_number: '+821011110001', phone_number_verified: true });
    expect(await verifyToken(SECRET, token)).toEqual(fromToken({ role: 'customer', sub: 'c-1', name: '김민수', phone: '+821011110001' }));
  });
});

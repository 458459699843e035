/** Configuration parsing: defaults, durations, and one readable line per bad variable. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, requireServices } from '../../platform/config.js';
import { devStackEnv } from '../../dev/stack.js';

const KEY = Buffer.alloc(32, 7).toString('base64');

const refusal = (env: Record<string, string>) => {
  try {
    parseConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
};

describe('parseConfig', () => {
  it("gives the seed's policy and the dev stack's ports when nothing is set", () => {
    const config = parseConfig({});
    expect(config.policy).toEqual({ assignmentDeadlineMs: 600_000, holdPeriodMs: 7 * 86_400_000, reminderBeforeMs: 86_400_000 });
    expect(config.http).toEqual({ host: '0.0.0.0', port: 8088 });
    expect(config.temporal).toMatchObject({ namespace: 'default', devServerPort: 7233, taskQueue: 'tshop-reservations', address: undefined });
    expect(config.temporal.access.tls).toBe(false);
    expect(config.databaseUrl).toBeUndefined();
  });

  it('reads durations such as 30s, 10m, 7d, and never reminds before the hold begins', () => {
    const config = parseConfig({ HOLD_PERIOD: '2h', REMINDER_BEFORE: '3d', ASSIGNMENT_DEADLINE: '30s', LINE_TICKET_LEASE: '90s' });
    expect(config.policy).toEqual({ assignmentDeadlineMs: 30_000, holdPeriodMs: 7_200_000, reminderBeforeMs: 7_200_000 });
    expect(config.line.leaseMs).toBe(90_000);
  });

  it('reads write limits as <writes>/<window> or off, and refuses anything else', () => {
    const config = parseConfig({ RATE_LIMIT_CUSTOMER_WRITES: '5/30s', RATE_LIMIT_ADDRESS_WRITES: 'off' });
    expect(config.rateLimits.customerWrites).toEqual({ points: 5, durationSeconds: 30 });
    expect(config.rateLimits.staffWrites).toEqual({ points: 600, durationSeconds: 60 });
    expect(config.rateLimits.addressWrites).toBeUndefined();
    for (const bad of ['5', '0/1m', 'x/1m', '5/0s', '5/soon']) {
      expect(() => parseConfig({ RATE_LIMIT_CUSTOMER_WRITES: bad }), bad).toThrow(/RATE_LIMIT_CUSTOMER_WRITES: .* is not a limit/);
    }
  });

  it('treats blank optional variables as unset, and splits lists', () => {
    const config = parseConfig({ DATABASE_URL: '  ', WORKER_METRICS_URLS: 'http://a:9464, ,http://b:9464', CODEC_UI_ORIGINS: 'http://x, http://y' });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.web.workerMetricsUrls).toEqual(['http://a:9464', 'http://b:9464']);
    expect(config.codec.uiOrigins).toEqual(['http://x', 'http://y']);
  });

  it('turns on TLS for an API key or a client certificate', () => {
    expect(parseConfig({ TEMPORAL_API_KEY: 'k' }).temporal.access.tls).toBe(true);
    expect(parseConfig({ TEMPORAL_TLS_CERT: 'c.pem', TEMPORAL_TLS_KEY: 'k.pem' }).temporal.access).toMatchObject({ tls: true, certPath: 'c.pem', keyPath: 'k.pem' });
    expect(parseConfig({ TEMPORAL_TLS: 'true' }).temporal.access.tls).toBe(true);
  });

  it("reads the store's token lifetime and an identity provider's claim names", () => {
    const config = parseConfig({ TOKEN_MAX_TTL_STORE: '2h', AUTH_STORE_CLAIM: 'branch', AUTH_JWKS_URL: 'https://idp.example/jwks', AUTH_ISSUER: 'idp', AUTH_AUDIENCE: 'tshop-api' });
    expect(config.tokenMaxTtlSeconds).toEqual({ customer: 86_400, store: 7_200, admin: 3_600 });
    expect(config.identityProvider?.claims).toEqual({ role: 'role', store: 'branch' });
  });

  it('parses payload keys, the first one encrypting', () => {
    const keys = parseConfig({ PAYLOAD_KEYS: `k2:${KEY}, k1:${KEY}` }).temporal.payloadKeys!;
    expect(keys.map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(keys[0]!.key).toHaveLength(32);
  });


  it('refuses bad values with one line per variable, naming it', () => {
    const message = refusal({ HOLD_PERIOD: 'a week', PORT: '70000', LOG_LEVEL: 'loud' });
    expect(message).toMatch(/^invalid configuration: /);
    expect(message).toContain('HOLD_PERIOD: "a week" is not a duration such as 30s, 10m, 7d');
    expect(message).toContain('PORT: ');
    expect(message).toContain('LOG_LEVEL: ');
    expect(message.split('; ')).toHaveLength(3);
  });

  it('refuses short secrets, half a client certificate, an identity provider without issuer, malformed keys', () => {
    expect(refusal({ JWT_SECRET: 'short' })).toContain('JWT_SECRET: use at least 32 characters');
    expect(refusal({ ASSIGNMENT_TOKEN: 'short' })).toContain('ASSIGNMENT_TOKEN: use at least 32 characters');
    expect(refusal({ TEMPORAL_TLS_CERT: 'c.pem' })).toContain('TEMPORAL_TLS_KEY: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together');
    expect(refusal({ AUTH_JWKS_URL: 'https://idp.example/jwks' })).toContain('AUTH_ISSUER: required with AUTH_JWKS_URL');
    expect(refusal({ AUTH_JWKS_URL: 'https://idp.example/jwks', AUTH_ISSUER: 'idp' })).toContain('AUTH_AUDIENCE: required with AUTH_JWKS_URL');
    expect(refusal({ PAYLOAD_KEYS: 'k1:c2hvcnQ=' })).toContain('PAYLOAD_KEYS: "k1": each key is <id>:<base64 of 32 bytes>');
    expect(refusal({ HOLD_PERIOD: '-1d' })).toContain('HOLD_PERIOD');
  });
});

describe('secrets', () => {
  /** The example the Kubernetes docs tell operators to copy, as an environment. */
  const example = Object.fromEntries(
    readFileSync(new URL('../../deploy/kubernetes/secrets.example.env', import.meta.url), 'utf8')
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );

  it("refuses the example's placeholders, each by name, however long they are", () => {
    expect(example.JWT_SECRET!.length).toBeGreaterThanOrEqual(32);
    const message = refusal(example);
    for (const name of ['JWT_SECRET', 'ASSIGNMENT_TOKEN', 'DATABASE_URL']) expect(message).toMatch(new RegExp(`${name}: holds the placeholder`));
    expect(refusal({ TEMPORAL_API_KEY: 'your-api-key' })).toContain('TEMPORAL_API_KEY: holds the placeholder');
    expect(refusal({ JWT_SECRET: `${randomBytes(24).toString('hex')}changeme` })).toContain('JWT_SECRET: holds the placeholder "changeme"');
  });

  it('refuses a secret too guessable to sign with, and takes a generated one', () => {
    for (const weak of ['a'.repeat(64), 'ab'.repeat(32), '0123456789'.repeat(4)]) expect(refusal({ JWT_SECRET: weak }), weak).toContain('JWT_SECRET: too guessable');
    const strong = randomBytes(32).toString('hex');
    expect(parseConfig({ JWT_SECRET: strong, ASSIGNMENT_TOKEN: randomBytes(32).toString('base64') }).jwtSecret).toBe(strong);
    // A host called example is no placeholder; only the URL's password is looked at.
    expect(parseConfig({ DATABASE_URL: 'postgres://tshop:s3cret-pw@db.example.internal:5432/tshop' }).databaseUrl).toContain('db.example.internal');
  });
});

describe('the development sign-in', () => {
  it('cannot be on in production: a start with both refuses to run, naming DEV_LOGIN', () => {
    expect(() => parseConfig({ DEV_LOGIN: '1', NODE_ENV: 'production' })).toThrow(/DEV_LOGIN.*NODE_ENV=production/);
    expect(() => parseConfig({ DEV_LOGIN: 'true', NODE_ENV: 'production' })).toThrow(ConfigError);
    expect(parseConfig({ NODE_ENV: 'production' }).web.devLogin).toBe(false);
    expect(parseConfig({ DEV_LOGIN: '1' }).web.devLogin).toBe(true);
  });

  it('is on under npm start unless NODE_ENV=production, and npm start listens on this host only unless HOST says otherwise', () => {
    const dev = parseConfig(devStackEnv({}));
    expect(dev.http.host).toBe('127.0.0.1');
    expect(dev.web.devLogin).toBe(true);
    expect(parseConfig(devStackEnv({ NODE_ENV: 'production' })).web.devLogin).toBe(false);
    expect(() => parseConfig(devStackEnv({ NODE_ENV: 'production', DEV_LOGIN: '1' }))).toThrow(/DEV_LOGIN/);
    expect(parseConfig(devStackEnv({ HOST: '0.0.0.0', DEV_LOGIN: '0' }))).toMatchObject({ http: { host: '0.0.0.0' }, web: { devLogin: false } });
    // The services alone (cmd/api.ts) keep their own default: they run behind an Ingress.
    expect(parseConfig({}).http.host).toBe('0.0.0.0');
  });
});

describe("the codec endpoint's tokenless access", () => {
  it('is off unless set, on under npm start unless NODE_ENV=production, and a start with it in production refuses to run', () => {
    expect(parseConfig({}).codec.trustLoopback).toBe(false);
    expect(parseConfig(devStackEnv({})).codec.trustLoopback).toBe(true);
    expect(parseConfig(devStackEnv({ NODE_ENV: 'production' })).codec.trustLoopback).toBe(false);
    expect(() => parseConfig({ CODEC_TRUST_LOOPBACK: '1', NODE_ENV: 'production' })).toThrow(/CODEC_TRUST_LOOPBACK.*NODE_ENV=production/);
    expect(() => parseConfig(devStackEnv({ NODE_ENV: 'production', CODEC_TRUST_LOOPBACK: 'true' }))).toThrow(ConfigError);
  });
});

describe("the assignment service's database role", () => {
  const main = 'postgres://tshop:x@db:5432/tshop';
  const own = 'postgres://tshop_assignment:y@db:5432/tshop';
  it('is ASSIGNMENT_DATABASE_URL; outside production DATABASE_URL stands in, in production nothing does', () => {
    expect(parseConfig({ DATABASE_URL: main, ASSIGNMENT_DATABASE_URL: own }).assignment.databaseUrl).toBe(own);
    expect(parseConfig({ DATABASE_URL: main }).assignment.databaseUrl).toBe(main);
    expect(parseConfig({ DATABASE_URL: main, NODE_ENV: 'production' }).assignment.databaseUrl).toBeUndefined();
    expect(parseConfig({ DATABASE_URL: main, ASSIGNMENT_DATABASE_URL: own, NODE_ENV: 'production' }).assignment.databaseUrl).toBe(own);
  });

  it("refuses the example's placeholder password, and migrations run as the owner when one is given", () => {
    expect(() => parseConfig({ ASSIGNMENT_DATABASE_URL: 'postgres://tshop_assignment:CHANGE-ME@db/tshop' })).toThrow(/ASSIGNMENT_DATABASE_URL/);
    expect(parseConfig({ DATABASE_URL: main }).ownerDatabaseUrl).toBe(main);
    expect(parseConfig({ DATABASE_URL: main, OWNER_DATABASE_URL: own }).ownerDatabaseUrl).toBe(own);
  });
});

describe('requireServices', () => {
  it('names every missing address for a part that runs alone', () => {
    expect(() => requireServices(parseConfig({}))).toThrow(/^DATABASE_URL and TEMPORAL_ADDRESS must be set/);
    expect(() => requireServices(parseConfig({ DATABASE_URL: 'postgres://x' }))).toThrow(/^TEMPORAL_ADDRESS must be set/);
    expect(requireServices(parseConfig({ DATABASE_URL: 'postgres://x', TEMPORAL_ADDRESS: 'localhost:7233' }))).toEqual({
      databaseUrl: 'postgres://x',
      temporalAddress: 'localhost:7233',
    });
  });
});

/** platform/log.ts: the JSON lines pino writes, with personal fields redacted. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CENSOR, createLogger } from '../../platform/log.js';

type Line = Record<string, unknown>;
let out: string;
let err: string;
const originals = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };

beforeEach(() => {
  out = '';
  err = '';
  process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => ((err += chunk), true)) as typeof process.stderr.write;
});
afterEach(() => {
  process.stdout.write = originals.out;
  process.stderr.write = originals.err;
});

const parse = (text: string): Line[] => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
const stdoutLines = () => parse(out);
const stderrLines = () => parse(err);

describe('createLogger', () => {
  it('writes one JSON line: ISO time, level label, component, msg and the fields', () => {
    createLogger('api', 'info').info('request', { status: 201, route: '/reservations' });
    const [line] = stdoutLines();
    expect(line).toMatchObject({ level: 'info', component: 'api', msg: 'request', status: 201, route: '/reservations' });
    expect(line!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(out.endsWith('\n')).toBe(true);
  });

  it('filters below its level; warnings and errors go to stderr, the rest to stdout', () => {
    const log = createLogger('worker', 'info');
    log.debug('hidden');
    log.info('shown');
    log.warn('careful');
    log.error('broken');
    expect(stdoutLines().map((l) => l.msg)).toEqual(['shown']);
    expect(stderrLines().map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'careful'],
      ['error', 'broken'],
    ]);
    createLogger('worker', 'error').warn('quiet');
    expect(stderrLines()).toHaveLength(2);
    createLogger('worker', 'debug').debug('verbose');
    expect(stdoutLines().map((l) => l.msg)).toEqual(['shown', 'verbose']);
  });

  it('takes an unknown level as info', () => {
    const log = createLogger('api', 'loud' as never);
    log.debug('hidden');
    log.info('shown');
    expect(stdoutLines().map((l) => l.msg)).toEqual(['shown']);
  });

  it('redacts personal fields and credentials at any depth, arrays included', () => {
    createLogger('api', 'info').info('reserve', {
      reservationId: 'ABCDEFGHJKMN',
      name: '홍길동',
      customer: { id: 'c-1', name: '홍길동', phone: '010-1234-5678', district: '강남구' },
      request: { headers: { authorization: 'Bearer x', 'content-type': 'application/json' } },
      contacts: [{ email: 'a@example.com', note: 'ring twice' }],
      deep: { a: { b: { c: { d: { address: '서울', memo: 'm', customerPhone: '1', customerName: 'n', token: 't' } } } } },
    });
    const [line] = stdoutLines();
    expect(line).toMatchObject({
      reservationId: 'ABCDEFGHJKMN',
      name: CENSOR,
      customer: { id: 'c-1', name: CENSOR, phone: CENSOR, district: '강남구' },
      request: { headers: { authorization: CENSOR, 'content-type': 'application/json' } },
      contacts: [{ email: CENSOR, note: CENSOR }],
      deep: { a: { b: { c: { d: { address: CENSOR, memo: CENSOR, customerPhone: CENSOR, customerName: CENSOR, token: CENSOR } } } } },
    });
    expect(out).not.toMatch(/홍길동|010-1234|a@example|ring twice|Bearer/);
  });

  it('redacts child and base fields too', () => {
    createLogger('api', 'info', { contact: 'x' }).child({ phone: '010', reservationId: 'R' }).info('m');
    expect(stdoutLines()[0]).toMatchObject({ contact: CENSOR, phone: CENSOR, reservationId: 'R' });
  });

  it("merges a child's fields with its parent's, the line's own fields last", () => {
    const log = createLogger('worker', 'info', { deployment: 'b1' }).child({ reservationId: 'R1', round: 0 });
    log.child({ round: 1 }).info('assigned', { storeId: 'gangnam' });
    const [line] = stdoutLines();
    expect(line).toMatchObject({ component: 'worker', deployment: 'b1', reservationId: 'R1', round: 1, storeId: 'gangnam', msg: 'assigned' });
  });

  it('serialises errors with name, message, code and cause; the stack only at debug', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const error = new TypeError('lookup failed', { cause });
    createLogger('api', 'info').error('failed', { error, nested: { err: new RangeError('r') } });
    const [line] = stderrLines();
    expect(line!.error).toEqual({
      name: 'TypeError',
      message: 'lookup failed',
      cause: { name: 'Error', message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' },
    });
    expect(line!.nested).toEqual({ err: { name: 'RangeError', message: 'r' } });

    createLogger('api', 'debug').error('failed', { error });
    expect((stderrLines()[1]!.error as { stack: string }).stack).toContain('TypeError: lookup failed');
  });

  it('writes bigints as strings and cycles as a marker', () => {
    const cyclic: Record<string, unknown> = { id: 1 };
    cyclic.self = cyclic;
    createLogger('worker', 'info').info('meta', { big: 12345678901234567890n, cyclic });
    expect(stdoutLines()[0]).toMatchObject({ big: '12345678901234567890', cyclic: { id: 1, self: '[Circular]' } });
  });
});

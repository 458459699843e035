/**
 * Structured logging through pino: one JSON object per line (`time` ISO, `level` as a label,
 * `component`, `msg`, then the fields), personal fields redacted at any depth. Errors and warnings go to stderr,
 * the rest to stdout, both written synchronously so a crash does not lose the last line.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** The project's logging interface: message first, then the fields (pino takes them the other way round). */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** Keys whose values are personal data or credentials: replaced by CENSOR wherever they appear. */
const REDACTED_KEYS: ReadonlySet<string> = new Set([
  'name',
  'customerName',
  'phone',
  'customerPhone',
  'contact',
  'address',
  'email',
  'note',
  'notes',
  'memo',
  'authorization',
  'cookie',
  'token',
  'password',
]);
export const CENSOR = '[Redacted]';

/**
 * pino's log formatter: redacts REDACTED_KEYS at any depth, turns errors into `{ name, message, code?,
 * cause?, stack? }` (JSON.stringify would give `{}`) and bigints into strings (JSON has none; the SDK's
 * metadata may carry some); a cycle becomes "[Circular]". Done here rather than with pino's `redact`
 * paths: those cannot say "any depth", and `*.*.key` wildcards cost 10-50 µs a line against ~2 here.
 */
function normaliser(withStack: boolean) {
  const walk = (value: unknown, seen: WeakSet<object>): unknown => {
    if (typeof value === 'bigint') return value.toString();
    if (value === null || typeof value !== 'object') return value;
    if (seen.has(value)) return '[Circular]';
    seen.add(value);
    try {
      if (value instanceof Error) return errorFields(value, seen);
      if (Array.isArray(value)) return value.map((v) => walk(v, seen));
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) return value; // Date, Buffer, URL…: their own toJSON
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, REDACTED_KEYS.has(k) ? CENSOR : walk(v, seen)]));
    } finally {
      seen.delete(value);
    }
  };
  // An error's `name` is its class, not a person's: kept.
  const errorFields = (err: Error, seen: WeakSet<object>) => {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      message: err.message,
      ...(code === undefined ? {} : { code: walk(code, seen) }),
      ...(err.cause === undefined ? {} : { cause: walk(err.cause, seen) }),
      ...(withStack && err.stack ? { stack: err.stack } : {}),
    };
  };
  return (fields: Record<string, unknown>) => walk(fields, new WeakSet()) as Record<string, unknown>;
}

/**
 * stdout below warn, stderr from warn up. process.stdout/stderr are synchronous for files and pipes
 * on Linux, and looking them up per line lets a test capture `process.stdout.write`.
 */
function destination(): DestinationStream {
  return pino.multistream(
    [
      { level: 'debug', stream: { write: (line: string) => void process.stdout.write(line) } },
      { level: 'warn', stream: { write: (line: string) => void process.stderr.write(line) } },
    ],
    { dedupe: true },
  );
}

function asLevel(level: string | undefined): LogLevel {
  return LEVELS.includes(level as LogLevel) ? (level as LogLevel) : 'info';
}

export function createLogger(
  component: string,
  level: LogLevel = asLevel(process.env.LOG_LEVEL),
  base: Record<string, unknown> = {},
): Logger {
  const lvl = asLevel(level);
  const normalise = normaliser(lvl === 'debug');
  const root = pino(
    {
      level: lvl,
      base: { component, ...normalise(base) },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: normalise },
    },
    destination(),
  );
  return wrap(root, normalise);
}

function wrap(p: PinoLogger, normalise: (f: Record<string, unknown>) => Record<string, unknown>): Logger {
  return {
    debug: (msg, fields) => p.debug(fields ?? {}, msg),
    info: (msg, fields) => p.info(fields ?? {}, msg),
    warn: (msg, fields) => p.warn(fields ?? {}, msg),
    error: (msg, fields) => p.error(fields ?? {}, msg),
    child: (fields) => wrap(p.child(normalise(fields)), normalise),
  };
}

/**
 * Calls to the API with the session's bearer token. Failures become ApiError, carrying the
 * problem+json answer's `code`, `title` and `detail` (and Retry-After) for the page to show; a
 * 401 on a signed-in call ends the session (back to sign in).
 */
import { getSession, signOut } from './session.js';

export class ApiError extends Error {
  constructor(
    /** The HTTP status; 0 when the server could not be reached. */
    readonly status: number,
    /** The problem's stable `code` (`OUT_OF_STOCK`, …), `NETWORK`, or `HTTP_<status>`. */
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    /** Seconds to wait before repeating the request (Retry-After), when the server said so. */
    readonly retryAfter?: number,
  ) {
    super(detail ? `${title}: ${detail}` : title);
    this.name = 'ApiError';
  }
}

export interface CallOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  body?: unknown;
  /** Sent as Idempotency-Key: the same key and body repeat a request safely. */
  idempotencyKey?: string;
  /** Another token than the session's (checking a pasted one). */
  token?: string;
  signal?: AbortSignal;
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date). */
function retryAfterSeconds(header: string | null): number | undefined {
  if (!header) return undefined;
  if (/^\s*\d+\s*$/.test(header)) return Number(header);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** A successful answer: its status (201 and 202 mean different things) and its body. */
export interface Answer<T> {
  status: number;
  body: T;
  /** Seconds until the request is worth repeating (Retry-After), when the server said so. */
  retryAfter?: number;
}

/** Calls the API and answers with the status too; failures are thrown as ApiError. */
export async function call<T>(path: string, options: CallOptions = {}): Promise<Answer<T>> {
  const token = options.token ?? getSession()?.token;
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  let res: Response;
  try {
    res = await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? null : JSON.stringify(options.body),
      cache: 'no-store',
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', 'Network error', (err as Error).message);
  }
  const retryAfter = retryAfterSeconds(res.headers.get('retry-after'));
  if (res.ok) {
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, ...(retryAfter !== undefined ? { retryAfter } : {}) };
  }
  const problem = (await res.json().catch(() => ({}))) as { code?: unknown; title?: unknown; detail?: unknown; retryAfterSeconds?: unknown };
  const error = new ApiError(
    res.status,
    typeof problem.code === 'string' ? problem.code : `HTTP_${res.status}`,
    typeof problem.title === 'string' ? problem.title : res.statusText || `HTTP ${res.status}`,
    typeof problem.detail === 'string' ? problem.detail : '',
    retryAfter ?? (typeof problem.retryAfterSeconds === 'number' ? problem.retryAfterSeconds : undefined),
  );
  // The session's token no longer works (expired, revoked): sign in again.
  if (res.status === 401 && !options.token && token) signOut('sessionExpired');
  throw error;
}

/** Calls the API and answers with the body. */
export async function api<T>(path: string, options: CallOptions = {}): Promise<T> {
  return (await call<T>(path, options)).body;
}

/**
 * When the web page asks again about its place in line after a failed question: soon (asking keeps
 * the place; before the opening the usual interval is half a lease), unless the server asked for less.
 */
import { describe, expect, it } from 'vitest';
import { retryDelaySeconds } from '../../web/retry.js';

const BEFORE_OPENING = 60; // pollAfterSeconds while a sale waits to open: half the 2-minute lease
const unavailable = (retryAfter?: number) => ({ status: 503, retryAfter });
const network = { status: 0, retryAfter: undefined };
const delay = (err: { status: number; retryAfter: number | undefined }, pollAfter: number, failures: number, jitter: number) =>
  retryDelaySeconds(err.status, err.retryAfter, pollAfter, failures, jitter);

describe('a failed question about a place in line', () => {
  it('is asked again after the server\'s Retry-After, not after the usual minute', () => {
    expect(delay(unavailable(1), BEFORE_OPENING, 1, 0.5)).toBe(1);
    expect(delay(unavailable(5), BEFORE_OPENING, 3, 0.5)).toBe(5);
  });

  it('without one, backs off 1, 2, 4 … seconds, spread by jitter, never past 15 s however long it fails', () => {
    const delays = [1, 2, 3, 4, 5, 10].map((failures) => delay(network, BEFORE_OPENING, failures, 0.5));
    expect(delays).toEqual([1, 2, 4, 8, 15, 15]);
    expect(delay(network, BEFORE_OPENING, 2, 0)).toBe(1.5);
    expect(delay(network, BEFORE_OPENING, 2, 1)).toBe(2.5);
    // Every wait leaves the place alive: far below the 60 s left of a lease renewed at its half.
    for (let failures = 1; failures < 50; failures += 1) expect(delay(unavailable(), BEFORE_OPENING, failures, 1)).toBeLessThanOrEqual(15);
  });

  it('a 429 waits the longer of the usual interval and the server\'s Retry-After', () => {
    const limited = { status: 429, retryAfter: 30 };
    expect(delay(limited, BEFORE_OPENING, 1, 0.5)).toBe(60);
    expect(delay(limited, 3, 1, 0.5)).toBe(30);
  });
});

/**
 * When the web page asks again about its place in line after a failed question: soon (asking keeps
 * the place; before the opening the usual interval is half a lease), unless the server asked for less.
 */
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../web/api.js';
import { retryDelaySeconds } from '../../web/tickets.js';

const BEFORE_OPENING = 60; // pollAfterSeconds while a sale waits to open: half the 2-minute lease
const unavailable = (retryAfter?: number) => new ApiError(503, 'SERVICE_UNAVAILABLE', 'A backing service is unavailable', '', retryAfter);
const network = new ApiError(0, 'NETWORK', 'No connection', '');

describe('a failed question about a place in line', () => {
  it('is asked again after the server\'s Retry-After, not after the usual minute', () => {
    expect(retryDelaySeconds(unavailable(1), BEFORE_OPENING, 1, 0.5)).toBe(1);
    expect(retryDelaySeconds(unavailable(5), BEFORE_OPENING, 3, 0.5)).toBe(5);
  });

  it('without one, backs off 1, 2, 4 … seconds, spread by jitter, never past 15 s however long it fails', () => {
    const delays = [1, 2, 3, 4, 5, 10].map((failures) => retryDelaySeconds(network, BEFORE_OPENING, failures, 0.5));
    expect(delays).toEqual([1, 2, 4, 8, 15, 15]);
    expect(retryDelaySeconds(network, BEFORE_OPENING, 2, 0)).toBe(1.5);
    expect(retryDelaySeconds(network, BEFORE_OPENING, 2, 1)).toBe(2.5);
    // Every wait leaves the place alive: far below the 60 s left of a lease renewed at its half.
    for (let failures = 1; failures < 50; failures += 1) expect(retryDelaySeconds(unavailable(), BEFORE_OPENING, failures, 1)).toBeLessThanOrEqual(15);
  });

  it('a 429 waits the longer of the usual interval and the server\'s Retry-After', () => {
    const limited = new ApiError(429, 'RATE_LIMITED', 'Too many requests', '', 30);
    expect(retryDelaySeconds(limited, BEFORE_OPENING, 1, 0.5)).toBe(60);
    expect(retryDelaySeconds(limited, 3, 1, 0.5)).toBe(30);
  });
});

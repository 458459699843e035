/** When a failed question is asked again (no DOM or preact here: the unit tests import it). */

/** The longest wait after a failed question about a place in line: far below half a lease, so a place outlives an outage. */
const RETRY_CAP_SECONDS = 15;

/**
 * Seconds until a failed question about a ticket is asked again. Asking is what keeps the place, so
 * a failure (`status` 0: no connection) is asked again soon — after the server's Retry-After, else
 * 1, 2, 4 … up to 15 s, spread by `jitter` (0–1) so pages do not return together — and not after
 * the answer's usual interval (a minute before the opening: half a lease, when the place would have
 * lapsed). A 429 is the server asking for less: then the longer of the two.
 */
export function retryDelaySeconds(status: number, retryAfter: number | undefined, pollAfterSeconds: number | null, failures: number, jitter: number): number {
  if (status === 429) return Math.max(pollAfterSeconds ?? 1, retryAfter ?? 0);
  const backOff = Math.min(RETRY_CAP_SECONDS, 2 ** Math.max(0, failures - 1));
  return Math.min(RETRY_CAP_SECONDS, retryAfter ?? backOff * (0.75 + jitter / 2));
}

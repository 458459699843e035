/**
 * Refuses secrets copied from an example or too guessable to sign with. Written here: the check is
 * a marker list and one entropy estimate, which no maintained library offers as such.
 */

/** Words that mark a value as an example's, not a secret (the repository's own examples say CHANGE-ME). */
const PLACEHOLDER = /change[-_ .]?me|placeholder|replace[-_ .]?(me|this)|your[-_ .]?([a-z]+[-_ .]?)?(secret|key|token|password)|example|dummy|^(x{4,}|\.{3,}|<[^>]*>)$/i;

/** The marker a value carries, if it carries one. */
export function placeholderIn(value: string): string | undefined {
  return PLACEHOLDER.exec(value)?.[0];
}

/** Bits a guess must beat, estimated from the value's own character frequencies (Shannon × length); a repeated run counts once. */
export function estimatedBits(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const n = [...value].length;
  let perChar = 0;
  for (const c of counts.values()) perChar -= (c / n) * Math.log2(c / n);
  return perChar * n;
}

/** The shortest unit the value repeats (the whole value when it repeats nothing). */
function period(value: string): string {
  for (let p = 1; p <= value.length / 2; p++) {
    let repeats = true;
    for (let i = p; i < value.length && repeats; i++) repeats = value[i] === value[i - p];
    if (repeats) return value.slice(0, p);
  }
  return value;
}

/** At least this many estimated bits: `openssl rand -hex 32` gives about 250, a word repeated far fewer. */
export const MIN_SECRET_BITS = 96;

/** Why a signing secret must be refused, or undefined when it may be used. */
export function secretProblem(value: string): string | undefined {
  const marker = placeholderIn(value);
  if (marker) return `holds the placeholder "${marker}": put a generated value in (openssl rand -hex 32)`;
  if (value.length < 32) return 'use at least 32 characters (openssl rand -hex 32)';
  if (estimatedBits(period(value)) < MIN_SECRET_BITS) return 'too guessable (few different characters, or a short run repeated): generate one with openssl rand -hex 32';
  return undefined;
}

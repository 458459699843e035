/**
 * Phone numbers as the identity provider gives them (OpenID Connect's `phone_number`, E.164
 * recommended) or as store staff type a walk-in's: parsed with libphonenumber-js, Korean numbers
 * without a country code read as Korean. One form (E.164) for sending and for the one-per-number
 * rule; the rule keys on a digest, so its table holds no number.
 */
import { createHash } from 'node:crypto';
import { parsePhoneNumberFromString } from 'libphonenumber-js/min';

// Every customer request's token names its number: parsed once per number and process (a few
// hundred thousand numbers take some tens of megabytes at most; past that, the oldest go first).
const parsed = new Map<string, string | undefined>();
const MAX_PARSED = 200_000;

/** The number in E.164 (`+821012345678`), or undefined when it is not a valid number. */
export function normalizePhone(value: string): string | undefined {
  if (parsed.has(value)) return parsed.get(value);
  const number = parsePhoneNumberFromString(value, 'KR');
  const e164 = number?.isValid() ? number.number : undefined;
  if (parsed.size >= MAX_PARSED) parsed.delete(parsed.keys().next().value!);
  parsed.set(value, e164);
  return e164;
}

/** The key of the one-per-number rule: SHA-256 of the E.164 form. */
export function phoneKey(e164: string): string {
  return createHash('sha256').update(`tshop-phone:${e164}`).digest('hex');
}

/** How the customer centre writes a number: `010-1234-5678` for a Korean mobile, else E.164. */
export function nationalPhone(e164: string): string {
  const parsed = parsePhoneNumberFromString(e164);
  return parsed?.country === 'KR' ? parsed.formatNational() : e164;
}

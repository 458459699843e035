/**
 * Phone numbers as the identity provider gives them (OpenID Connect's `phone_number`, E.164
 * recommended) or as store staff type a walk-in's: parsed with libphonenumber-js, Korean numbers
 * without a country code read as Korean. One form (E.164) for sending and for the one-per-number
 * rule; the rule keys on a digest, so its table holds no number.
 */
import { createHash } from 'node:crypto';
import { parsePhoneNumberFromString } from 'libphonenumber-js/min';

/** A number in the forms the product uses. */
export interface PhoneNumber {
  /** `+821012345678`. */
  e164: string;
  /** How the customer centre writes it: `010-1234-5678` for a Korean number, else E.164. */
  national: string;
  /** The one-per-number rule's key: SHA-256 of the E.164 form. */
  key: string;
}

// Every customer request's token names its number: parsed once per number and process (a few
// hundred thousand numbers take some tens of megabytes at most; past that, the oldest go first).
const parsed = new Map<string, PhoneNumber | undefined>();
const MAX_PARSED = 200_000;

/** A number as given, in the product's forms; undefined when it is not a valid number. */
export function parsePhone(value: string): PhoneNumber | undefined {
  if (parsed.has(value)) return parsed.get(value);
  const number = parsePhoneNumberFromString(value, 'KR');
  const phone = number?.isValid()
    ? {
        e164: number.number,
        national: number.country === 'KR' ? number.formatNational() : number.number,
        key: createHash('sha256').update(`tshop-phone:${number.number}`).digest('hex'),
      }
    : undefined;
  if (parsed.size >= MAX_PARSED) parsed.delete(parsed.keys().next().value!);
  parsed.set(value, phone);
  return phone;
}

/** The number in E.164 (`+821012345678`), or undefined when it is not a valid number. */
export const normalizePhone = (value: string): string | undefined => parsePhone(value)?.e164;

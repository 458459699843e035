/**
 * Whom a reservation (or a place in line) is for, and where they are. A customer is who their token
 * says: their name and number come from the identity provider's verified claims, never from the
 * request, so nobody can have messages sent to a stranger's number. Store staff and admins register
 * a walk-in customer's contact themselves.
 */
import { findDistrict } from '../../shared/districts.js';
import { lastKnownLocation, type ContactRow } from './repository.js';
import { holderKeys } from '../launch/allowances.js';
import type { Principal } from '../../platform/auth.js';
import { parsePhone } from '../../platform/phone.js';
import type { AppDeps } from '../../api/deps.js';
import { AssignmentServiceUnavailable } from '../assignment/client.js';
import { Problem } from '../../api/errors.js';

/** What a request may say of its customer (CreateReservation's `customer`, JoinLine's). */
export interface GivenCustomer {
  id?: string;
  name?: string;
  phone?: string;
  district?: string;
  latitude?: number;
  longitude?: number;
}

export interface Customer {
  customerId: string;
  /** The contact saved with the reservation (phone in the customer centre's national form). */
  contact: Omit<ContactRow, 'reservationId'>;
  /** The digest of the E.164 number: the one-per-number rule's key. */
  phoneKey: string | null;
  /** Whose allowances the units count against. */
  holders: string[];
}

/** What resolving a customer reads: the database, and whether a customer needs a verified number. */
export type CustomerDeps = Pick<AppDeps, 'db' | 'requireVerifiedPhone' | 'assignment'>;

/** The customer of a request, as its caller may name them (refusals are problems). */
export async function customerOf(deps: CustomerDeps, principal: Principal, given: GivenCustomer | undefined): Promise<Customer> {
  const person = principal.role === 'customer' ? fromIdentity(deps, principal, given) : walkIn(principal, given);
  const place = await placeOf(deps, principal, person.customerId, given);
  const phone = person.e164 ? parsePhone(person.e164) : undefined;
  return {
    customerId: person.customerId,
    contact: { customerId: person.customerId, name: person.name, phone: phone?.national ?? null, ...place },
    phoneKey: phone?.key ?? null,
    holders: holderKeys(person.customerId, phone?.key),
  };
}

function fromIdentity(deps: CustomerDeps, principal: Extract<Principal, { role: 'customer' }>, given: GivenCustomer | undefined) {
  if (given?.id !== undefined && given.id !== principal.sub) throw new Problem(403, 'FORBIDDEN', 'customers reserve for themselves only');
  if (given?.name !== undefined || given?.phone !== undefined) {
    throw new Problem(
      422,
      'CONTACT_FROM_IDENTITY',
      "a customer's name and phone number come from their verified identity (the token's name and phone_number): leave customer.name and customer.phone out",
    );
  }
  if (!principal.phone && deps.requireVerifiedPhone !== false) {
    throw new Problem(403, 'PHONE_NOT_VERIFIED', 'your identity carries no verified phone number (phone_number with phone_number_verified): verify one with your sign-in provider first');
  }
  return { customerId: principal.sub, name: principal.name ?? null, e164: principal.phone ?? null };
}

/** Staff and admins name the customer and may give their contact: a walk-in without an id is known by their number. */
function walkIn(principal: Exclude<Principal, { role: 'customer' }>, given: GivenCustomer | undefined) {
  const e164 = given?.phone === undefined ? null : parsePhone(given.phone)?.e164;
  if (e164 === undefined) throw new Problem(422, 'INVALID_PHONE', `${given!.phone} is not a phone number`);
  if (principal.role === 'store' && !given?.id && !e164) {
    throw new Problem(422, 'CUSTOMER_REQUIRED', 'store staff name the walk-in customer they reserve for: customer.id or customer.phone');
  }
  const customerId = given?.id ?? (principal.role === 'store' ? `walk-in-${e164!.replace(/\D/g, '')}` : principal.sub);
  return { customerId, name: given?.name ?? null, e164 };
}

/** Where the customer is: as given, else their last known place, else (store staff) the store's own. */
async function placeOf(deps: CustomerDeps, principal: Principal, customerId: string, given: GivenCustomer | undefined) {
  const district = given?.district === undefined ? undefined : findDistrict(given.district);
  if (given?.latitude !== undefined || district) {
    return { district: district?.ko ?? null, latitude: given?.latitude ?? district!.latitude, longitude: given?.longitude ?? district!.longitude };
  }
  if (principal.role === 'store') {
    const store = await storeOf(deps, principal.storeId);
    if (store) return { district: store.district, latitude: store.latitude, longitude: store.longitude };
  }
  const known = await lastKnownLocation(deps.db, customerId);
  return { district: known?.district ?? null, latitude: known?.latitude ?? null, longitude: known?.longitude ?? null };
}

/** The staff's own store, from the assignment service; while it is down the walk-in is placed as if it had none. */
async function storeOf(deps: CustomerDeps, storeId: string) {
  try {
    return await deps.assignment.getStore(storeId);
  } catch (err) {
    if (err instanceof AssignmentServiceUnavailable) return undefined;
    throw err;
  }
}

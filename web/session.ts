/**
 * Who is signed in: the bearer token and what the app knows about its holder, in sessionStorage
 * (gone with the tab; "sign out" clears it). Components follow it with useSession().
 */
import { useEffect, useState } from 'preact/hooks';
import type { Role } from './types.js';

interface Profile {
  name?: string;
  phone?: string;
  district?: string;
}

export interface Session {
  token: string;
  role: Role;
  sub: string;
  /** Store staff: their store's id, and its name when known. */
  store?: string;
  storeName?: string;
  expiresAt?: string;
  /** A customer's name and number as their token carries them (the messages go there), and their district. */
  profile?: Profile;
}

const KEY = 'tshop.session';
let current: Session | undefined = read();
const listeners = new Set<(s: Session | undefined) => void>();

function read(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return undefined;
    const s = JSON.parse(raw) as Session;
    if (typeof s.token !== 'string' || typeof s.role !== 'string') return undefined;
    return s;
  } catch {
    return undefined;
  }
}

export function getSession(): Session | undefined {
  return current;
}

export function setSession(session: Session | undefined): void {
  current = session;
  try {
    if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
    else sessionStorage.removeItem(KEY);
  } catch {
    // Kept in memory only.
  }
  for (const listener of listeners) listener(session);
}

export function useSession(): Session | undefined {
  const [session, setState] = useState(current);
  useEffect(() => {
    const listener = (s: Session | undefined) => setState(s);
    listeners.add(listener);
    if (current !== session) setState(current);
    return () => void listeners.delete(listener);
  }, []);
  return session;
}

/** The page each role works on. */
export const HOME: Record<Role, string> = { customer: '#/customer', store: '#/store', admin: '#/desk' };

/**
 * The claims of a JWT, read without verifying it (the server verifies every request): enough to
 * know which page a pasted token belongs on. Undefined for anything that is not a usable token.
 */
export function readToken(token: string): Omit<Session, 'token'> | undefined {
  const part = token.trim().split('.')[1];
  if (!part) return undefined;
  try {
    const binary = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)))) as Record<string, unknown>;
    const role = claims.role;
    const sub = claims.sub;
    if (typeof sub !== 'string' || !sub) return undefined;
    const expiresAt = typeof claims.exp === 'number' ? new Date(claims.exp * 1000).toISOString() : undefined;
    if (role === 'admin') return { role, sub, ...(expiresAt ? { expiresAt } : {}) };
    if (role === 'customer') return { role, sub, ...(expiresAt ? { expiresAt } : {}), ...profileOf(claims) };
    const store = claims.store;
    if (role === 'store' && typeof store === 'string') return { role, sub, store, ...(expiresAt ? { expiresAt } : {}) };
    return undefined;
  } catch {
    return undefined;
  }
}

/** A customer's name and verified number from their token's claims (OpenID Connect's `name`, `phone_number`). */
function profileOf(claims: Record<string, unknown>): { profile?: Profile } {
  const profile: Profile = {};
  if (typeof claims.name === 'string') profile.name = claims.name;
  if (claims.phone_number_verified === true && typeof claims.phone_number === 'string') profile.phone = claims.phone_number;
  return Object.keys(profile).length > 0 ? { profile } : {};
}

/** A message for the sign-in page, set when the app sends someone there. */
let flash: string | undefined;
export function setFlash(key: string | undefined): void {
  flash = key;
}
export function takeFlash(): string | undefined {
  const f = flash;
  flash = undefined;
  return f;
}

/** Ends the session and returns to the sign-in page (with a reason to show, if any). */
export function signOut(reason?: string): void {
  setFlash(reason);
  setSession(undefined);
  if (location.hash !== '#/') location.hash = '#/';
}

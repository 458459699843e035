/** Opening the database pool for an entry point: a one-line start-up error when it is unreachable. */
import type { Kysely } from 'kysely';
import { createDb, pingDb, type PoolOptions } from './client.js';
import type { Database } from './schema.js';
import { StartupError } from '../platform/process.js';

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

/** Opens the pool and fails with one clear line when the database cannot be reached. */
export async function openDatabase<T = Database>(url: string, options: PoolOptions = {}): Promise<Kysely<T>> {
  const db = createDb<T>(url, options);
  try {
    await pingDb(db);
    return db;
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw new StartupError(`database unreachable at ${redactUrl(url)}: ${err instanceof Error ? err.message : String(err)}`);
  }
}


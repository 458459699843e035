/** Every migration, in order. Add new files here; never edit one that has shipped. */
import type { Migration } from 'kysely';
import * as m0001 from './0001_initial.js';

export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
};

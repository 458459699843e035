/**
 * A clone in a private home (0700, like /root): the embedded PostgreSQL still starts, and keeps its
 * data. As root it runs as the `postgres` user, which cannot reach the home, so the data goes under
 * /var/lib/tshop-reserve; as anyone else it stays in the clone.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { expect, it } from 'vitest';
import { startStack } from '../../dev/stack.js';

const asRoot = process.getuid?.() === 0;

it('starts PostgreSQL for a data directory in a private home, and finds its data again', { timeout: 120_000 }, async () => {
  const home = mkdtempSync(path.join(tmpdir(), 'tshop-home-'));
  chmodSync(home, 0o700);
  const dataDir = path.join(home, 'clone', '.data');
  mkdirSync(dataDir, { recursive: true });
  let outside: string | undefined;
  try {
    const query = async (url: string, text: string) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      return client.query(text).finally(() => client.end());
    };
    const postgres = () => startStack({ dataDir, parts: ['postgres'], ports: { pg: 25492 } });
    const first = await postgres();
    const location = path.join(dataDir, 'postgres.location');
    if (asRoot) {
      outside = readFileSync(location, 'utf8').trim();
      expect(outside.startsWith('/var/lib/tshop-reserve/data/')).toBe(true);
    } else {
      expect(existsSync(location), 'moved out of the clone').toBe(false);
    }
    await query(first.databaseUrl, 'create table kept (n int); insert into kept values (42)');
    await first.stop();
    const again = await postgres();
    expect((await query(again.databaseUrl, 'select n from kept')).rows).toEqual([{ n: 42 }]);
    await again.stop();
  } finally {
    rmSync(home, { recursive: true, force: true });
    if (outside && existsSync(outside)) rmSync(path.dirname(outside), { recursive: true, force: true });
  }
});

/** `npm run migrate [-- --seed]`: applies migrations (and the demo seed) as the tables' owner (OWNER_DATABASE_URL, else DATABASE_URL). */
import { parseConfig, ConfigError } from '../platform/config.js';
import { runMain, say } from '../platform/run-main.js';
import { openDatabase } from '../db/open.js';
import { prepareDatabase } from '../db/prepare.js';

runMain('tshop-migrate', async () => {
  const config = parseConfig();
  if (!config.ownerDatabaseUrl) throw new ConfigError('OWNER_DATABASE_URL or DATABASE_URL must be set');
  // A migration may rewrite a large table: no statement limit here.
  const db = await openDatabase(config.ownerDatabaseUrl, { statementTimeoutMs: 0 });
  try {
    const { migrated, seeded } = await prepareDatabase(db, { seed: process.argv.includes('--seed') });
    say(`migrations applied: ${migrated.length > 0 ? migrated.join(', ') : 'none (up to date)'}`);
    if (seeded.products + seeded.stores > 0) say(`seeded ${seeded.products} products and ${seeded.stores} stores`);
  } finally {
    await db.destroy();
  }
  process.exit(0);
});

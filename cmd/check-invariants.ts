/** `npm run check:invariants`: checks the stock, ledger, reservation and store invariants as the tables' owner (OWNER_DATABASE_URL, else DATABASE_URL), who reads both schemas. */
import { ConfigError, parseConfig } from '../platform/config.js';
import { runMain, say } from '../platform/run-main.js';
import { openDatabase } from '../db/open.js';
import { checkInvariants } from '../db/invariants.js';

runMain('tshop-check', async () => {
  const config = parseConfig();
  if (!config.ownerDatabaseUrl) throw new ConfigError('OWNER_DATABASE_URL or DATABASE_URL must be set');
  // The checks read every table whole: no statement limit for this offline run.
  const db = await openDatabase(config.ownerDatabaseUrl, { statementTimeoutMs: 0 });
  const report = await checkInvariants(db).finally(() => db.destroy());
  if (report.ok) say('invariants hold');
  for (const v of report.violations) process.stderr.write(`violation: ${v}\n`);
  process.exit(report.ok ? 0 : 1);
});

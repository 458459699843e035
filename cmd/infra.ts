/** `npm run start:infra`: only the embedded PostgreSQL and Temporal dev server, for parts run alone. */
import { resolveSigningSecret } from '../platform/auth.js';
import { parseConfig } from '../platform/config.js';
import { runMain, say } from '../platform/run-main.js';
import { openDatabase } from '../db/open.js';
import { prepareDatabase } from '../db/prepare.js';
import { stackOptionsFrom, startStack } from '../dev/stack.js';

runMain('tshop-infra', async (onStop) => {
  const config = parseConfig();
  const infra = await startStack({ ...stackOptionsFrom(config), parts: ['postgres', 'temporal'], say, onStoppable: onStop });
  const db = await openDatabase(infra.databaseUrl);
  await prepareDatabase(db, { seed: true }).finally(() => db.destroy());
  resolveSigningSecret(config.jwtSecret, config.dataDir, true);
  say(
    [
      '',
      'Infrastructure is running. In other terminals:',
      `  export DATABASE_URL='${infra.databaseUrl}'`,
      `  export TEMPORAL_ADDRESS='${infra.temporalAddress}'`,
      '  npm run start:worker    # and/or: npm run start:api',
      ...(infra.temporalUiUrl ? [`Temporal Web UI: ${infra.temporalUiUrl}`] : []),
      'Press Ctrl-C to stop.',
    ].join('\n'),
  );
});

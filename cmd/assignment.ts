/** `npm run start:assignment`: the assignment service alone, on ASSIGNMENT_PORT, with DATABASE_URL. */
import { ConfigError, parseConfig } from '../platform/config.js';
import { resolveAssignmentToken } from '../platform/auth.js';
import { createLogger } from '../platform/log.js';
import { runMain, say } from '../platform/run-main.js';
import { listen } from '../platform/http.js';
import { openDatabase } from '../db/open.js';
import { createAssignmentApp } from '../app/assignment/api.js';

runMain('tshop-assignment', async (onStop) => {
  const config = parseConfig();
  if (!config.databaseUrl) throw new ConfigError('DATABASE_URL must be set (run "npm run start:infra" for a local PostgreSQL)');
  const log = createLogger('assignment', config.logLevel);
  const db = await openDatabase(config.databaseUrl);
  onStop(() => db.destroy());
  const app = createAssignmentApp({ db, log, token: resolveAssignmentToken(config.assignment.token, config.dataDir) });
  const server = await listen(app.fetch, config.assignment.host, config.assignment.port, 'assignment service, ASSIGNMENT_PORT');
  onStop(server.close);
  say(`assignment service listening on ${server.url}`);
});

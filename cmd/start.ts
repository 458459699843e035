/**
 * `npm start`: the whole system in the foreground, on embedded PostgreSQL and Temporal by default.
 * package.json runs it compiled (cmd/run.mjs). V8's default young generation is kept: a smaller
 * one (8 MiB) cut the memory only in the first seconds after activity, and 4 MiB or less cost ~5 ms
 * more GC per reservation (cmd/bench-memory.ts).
 */
import { resolveAssignmentToken, resolveSigningSecret } from '../platform/auth.js';
import { parseConfig } from '../platform/config.js';
import { createLogger } from '../platform/log.js';
import { startTracing } from '../platform/tracing.js';
import { installRuntime } from '../workers/runtime.js';
import { ensureWebBundle } from '../web/build/bundle.js';
import { assertPortFree } from '../platform/process.js';
import { runMain, say } from '../platform/run-main.js';
import { connectTemporal } from '../platform/temporal.js';
import { openDatabase, redactUrl } from '../db/open.js';
import { prepareDatabase } from '../db/prepare.js';
import { devStackEnv, stackOptionsFrom, startStack } from '../dev/stack.js';
import { startApi } from '../api/server.js';
import { startCodecServer } from '../api/codec/server.js';
import { startWorker } from '../workers/start.js';

runMain('tshop', async (onStop) => {
  const config = parseConfig(devStackEnv(process.env));
  const log = createLogger('tshop', config.logLevel);
  // The one Temporal Runtime of the process: signals stay with the launcher, SDK logs as JSON lines.
  await installRuntime(createLogger('worker', config.logLevel), config.logLevel);
  const tracing = startTracing(config, 'tshop');
  onStop(tracing.shutdown);
  // The worker's metrics sit next to the API's port unless WORKER_METRICS_PORT says otherwise.
  const workerMetricsPort = config.workerMetrics.port ?? config.http.port + 2;
  await assertPortFree(config.http.port, 'API, PORT', config.http.host);
  await assertPortFree(config.assignment.port, 'assignment service, ASSIGNMENT_PORT', config.assignment.host);

  // PostgreSQL and Temporal, then (migrated) the assignment service and the notifier as processes
  // of their own; the worker, the API and the codec endpoint run in this process.
  const stack = await startStack({
    ...stackOptionsFrom(config),
    parts: ['postgres'],
    // As `npm run start:assignment` runs it: compiled, without a TypeScript loader (cmd/run.mjs).
    runner: 'compiled',
    partEnv: {
      assignment: { ASSIGNMENT_TOKEN: resolveAssignmentToken(config.assignment.token, config.dataDir), LOG_LEVEL: config.logLevel },
      notifier: { TEMPORAL_NAMESPACE: config.temporal.namespace, NOTIFIER_TASK_QUEUE: config.notifier.taskQueue },
    },
    echo: (_part, line, stream) => (stream === 'stderr' ? process.stderr : process.stdout).write(`${line}\n`),
    say,
    onStoppable: onStop,
  });
  // Fail fast on an unreachable database before spending time on Temporal.
  const db = await openDatabase(stack.databaseUrl);
  onStop(() => db.destroy());
  await stack.start('temporal');
  const { migrated, seeded } = await prepareDatabase(db, { seed: true });
  if (migrated.length > 0) say(`applied migrations: ${migrated.join(', ')}`);
  if (seeded.products + seeded.stores > 0) say(`seeded ${seeded.products} products and ${seeded.stores} stores`);

  await stack.start('assignment');
  const { connection, client } = await connectTemporal(stack.temporalAddress, config.temporal.namespace, config.temporal.payloadKeys, config.temporal.access);
  onStop(() => connection.close());
  say('starting the worker …');
  const worker = await startWorker(config, { db, temporalAddress: stack.temporalAddress, log, metricsPort: workerMetricsPort });
  onStop(worker.stop);
  say('starting the notifier …');
  await stack.start('notifier');
  const notifier = { ...stack.notifier!, pid: stack.part('notifier').pid() };
  // Tokens are signed with JWT_SECRET, or with a secret made once under the data directory.
  const authSecret = resolveSigningSecret(config.jwtSecret, config.dataDir, true)!;
  const webDir = await ensureWebBundle(config.web.dir);
  const workerMetricsUrls = worker.metricsUrl ? [worker.metricsUrl] : [];
  const api = await startApi({ ...config, web: { ...config.web, workerMetricsUrls } }, { db, client, log, authSecret, webDir, metricsPort: config.http.port + 4 });
  onStop(api.close);
  const codec = await startCodecServer(config, authSecret, api.revocations);
  if (codec) onStop(codec.close);

  const ui = stack.temporalUiUrl ?? '(the Web UI of the cluster at TEMPORAL_ADDRESS)';
  // Bound to this host only, the API is shown as a browser would be pointed at it.
  const apiUrl = api.url.replace('://127.0.0.1:', '://localhost:');
  say(
    [
      '',
      'Tshop Reserve is running',
      `  Web app          ${apiUrl}/   (customers, store staff, launch desk${config.web.devLogin ? '; demo sign-in on' : ''})`,
      `  API              ${apiUrl}`,
      `  API docs         ${apiUrl}/docs   (contract: ${apiUrl}/openapi.json)`,
      `  Metrics          ${api.metricsUrl} (API), ${worker.metricsUrl ?? `(worker: port ${workerMetricsPort} is taken, see the log)`} (worker), http://127.0.0.1:${stack.ports.assignmentMetrics}/metrics (assignment)`,
      `  Temporal Web UI  ${stack.temporalUiUrl ? `${ui}/namespaces/${config.temporal.namespace}/workflows` : ui}`,
      ...(codec ? [`  Payload codec    ${codec.url} (payloads sealed with key ${config.temporal.payloadKeys![0]!.id}; the Web UI decodes through it${config.codec.trustLoopback ? ', without a token from this host' : ', with an admin token'})`] : []),
      `  Assignment svc   ${config.assignment.url}/stores`,
      `  Notifier         polling task queue ${config.notifier.taskQueue} as ${notifier.identity} (pid ${notifier.pid}); KakaoTalk ${
        notifier.channel === 'sink' ? 'local sink: no KAKAO_API_URL, each message is recorded, not sent (GET /reservations/{id}/notifications)' : `via ${config.notifier.kakaoUrl ? new URL(config.notifier.kakaoUrl).origin : 'KAKAO_API_URL'}`
      }`,
      `  Temporal         ${stack.temporalAddress} (namespace ${config.temporal.namespace}, task queue ${config.temporal.taskQueue})`,
      `  PostgreSQL       ${redactUrl(stack.databaseUrl)}${stack.embedded.postgres ? ' (embedded)' : ''}`,
      `  Data directory   ${config.dataDir}`,
      '',
      `Get a token:      npm run -s token -- --role customer --sub c-1`,
      `Try:              curl -s -H "Authorization: Bearer $(npm run -s token -- --role customer --sub c-1)" ${apiUrl}/products`,
      'Press Ctrl-C to stop.',
    ].join('\n'),
  );
});

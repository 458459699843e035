/**
 * `npm run start:notifier`: the Python notifier alone (notifier/), configured by DATABASE_URL and
 * TEMPORAL_ADDRESS like the worker; installs its pinned requirements into `.tools/notifier` first.
 * (`python -m notifier` from the repository root runs it without this launcher.)
 */
import { parseConfig, requireServices } from '../platform/config.js';
import { startPart } from '../dev/stack.js';
import { runMain, say } from '../platform/run-main.js';

runMain('tshop-notifier', async (onStop) => {
  const config = parseConfig();
  const { databaseUrl, temporalAddress } = requireServices(config);
  const notifier = await startPart('notifier', {
    env: { ...process.env, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress, TEMPORAL_NAMESPACE: config.temporal.namespace, NOTIFIER_TASK_QUEUE: config.notifier.taskQueue },
    echo: (line) => say(line),
  });
  onStop(() => notifier.stop('SIGTERM', 8_000));
  say(`notifier polling task queue ${config.notifier.taskQueue} on ${temporalAddress} as ${notifier.notifier!.identity} (messages: ${notifier.notifier!.channel === 'sink' ? 'local sink, no KAKAO_API_URL' : 'KAKAO_API_URL'})`);
});

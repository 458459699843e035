/**
 * `npm run start:notifier`: the Python notifier alone (notifier/), configured by DATABASE_URL and
 * TEMPORAL_ADDRESS like the worker; installs its pinned requirements into `.tools/notifier` first.
 * (`python -m notifier` from the repository root runs it without this launcher.)
 */
import { parseConfig, requireServices } from '../platform/config.js';
import { spawnNotifier } from '../dev/notifier.js';
import { runMain, say } from '../platform/run-main.js';

runMain('tshop-notifier', async (onStop) => {
  const config = parseConfig();
  const { databaseUrl, temporalAddress } = requireServices(config);
  const notifier = await spawnNotifier(
    { databaseUrl, temporalAddress, namespace: config.temporal.namespace, taskQueue: config.notifier.taskQueue },
    say,
  );
  onStop(notifier.stop);
  say(`notifier polling task queue ${config.notifier.taskQueue} on ${temporalAddress} as ${notifier.identity} (messages: ${notifier.channel === 'sink' ? 'local sink, no KAKAO_API_URL' : 'KAKAO_API_URL'})`);
});

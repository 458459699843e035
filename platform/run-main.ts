/** Process plumbing shared by every entry point: one-line fatal errors and bounded shutdown. */
import { ConfigError } from './config.js';
import { StartupError } from './process.js';

// A graceful stop must finish inside this bound; after it, the process exits regardless.
const SHUTDOWN_BUDGET_MS = 14_000;

export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function fatal(err: unknown): never {
  const known = err instanceof StartupError || err instanceof ConfigError;
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`tshop: ${message}\n`);
  if (!known && err instanceof Error && process.env.LOG_LEVEL === 'debug') process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}

/**
 * Runs `start`, which returns its own stop function; SIGINT/SIGTERM call it once and exit.
 * Start-up failures print one line and exit 1 (after stopping what was already started).
 */
export function runMain(name: string, start: (registerStop: (stop: () => Promise<void>) => void) => Promise<void>): void {
  const stops: (() => Promise<void>)[] = [];
  let stopping = false;
  const shutdown = async (signal: string, code: number) => {
    if (stopping) return;
    stopping = true;
    say(`${name}: ${signal} received, stopping …`);
    setTimeout(() => {
      process.stderr.write(`tshop: ${name} did not stop within ${SHUTDOWN_BUDGET_MS} ms; exiting\n`);
      process.exit(1);
    }, SHUTDOWN_BUDGET_MS);
    for (const stop of stops.reverse()) {
      if (process.env.LOG_LEVEL === 'debug') say(`${name}: stopping ${stop.name || 'a part'}`);
      await stop().catch((err) => process.stderr.write(`tshop: while stopping: ${err instanceof Error ? err.message : String(err)}\n`));
    }
    say(`${name}: stopped`);
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown('SIGINT', 0));
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
  start((stop) => stops.push(stop)).catch(async (err) => {
    stopping = true;
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    fatal(err);
  });
}

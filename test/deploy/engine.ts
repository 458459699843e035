/**
 * The container engine of `npm run test:deploy`. By default podman (Debian's 4.3 here): its
 * Docker-compatible API served on a private socket, driven by Docker Compose built from its Go
 * module at a pinned version (deploy/podman/compose), as `podman compose` does on newer podman.
 * With DEPLOY_ENGINE=docker, the machine's Docker and its `docker compose` instead.
 *
 * This machine has no systemd, which podman relies on to run healthchecks on their interval; the
 * pump below runs them, as systemd's timers would, so that `depends_on: service_healthy` works.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const engineName = process.env.DEPLOY_ENGINE === 'docker' ? 'docker' : 'podman';
const containersConf = path.join(root, 'deploy/podman/containers.conf');
const composeSource = path.join(root, 'deploy/podman/compose');
const composeBinary = path.join(root, '.tools/compose/docker-compose');
const PACKAGES = ['podman', 'runc', 'netavark', 'aardvark-dns', 'debootstrap', 'uidmap', 'fuse-overlayfs', 'unzip', 'openssl', 'curl'];

const found = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;

export function run(command: string, args: string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  if (result.status !== 0) {
    const output = `${String(result.stdout ?? '').slice(-4000)}\n${String(result.stderr ?? '').slice(-4000)}`;
    throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${output}`);
  }
  return String(result.stdout ?? '');
}

/** Installs podman and what building the base images needs, as .ci/run installs Chromium; never skips. */
export function ensurePodman(log: (line: string) => void): void {
  const missing = PACKAGES.filter((p) => spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' }).stdout?.includes('install ok installed') !== true);
  if (missing.length === 0) return;
  if (!found('apt-get') || process.getuid?.() !== 0) {
    throw new Error(`test:deploy needs ${missing.join(', ')}: install them (Debian: apt-get install ${PACKAGES.join(' ')}), or run as root on Debian to have them installed`);
  }
  log(`installing ${missing.join(' ')}`);
  run('apt-get', ['update'], { stdio: 'ignore' });
  run('apt-get', ['install', '-y', '--no-install-recommends', ...PACKAGES], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

/** The pinned Docker Compose, built once into .tools (the Go build cache makes a rebuild quick). */
export function ensureCompose(log: (line: string) => void): string {
  const stale = !existsSync(composeBinary) || statSync(composeBinary).mtimeMs < statSync(path.join(composeSource, 'go.mod')).mtimeMs;
  if (stale) {
    log('building Docker Compose (deploy/podman/compose)');
    run('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', composeBinary, 'github.com/docker/compose/v2/cmd'], { cwd: composeSource });
  }
  return composeBinary;
}

export interface Engine {
  /** Environment for podman/docker commands and Compose. */
  env: NodeJS.ProcessEnv;
  /** `docker compose …` or the pinned Compose against podman's socket. */
  compose: string[];
  /** `podman` or `docker`. */
  cli: string;
  stop(): void;
}

/** Starts podman's API service on a private socket and the healthcheck pump. */
export async function startEngine(log: (line: string) => void): Promise<Engine> {
  if (engineName === 'docker') {
    if (!found('docker')) throw new Error('DEPLOY_ENGINE=docker, but there is no docker command');
    return { env: { ...process.env }, compose: ['docker', 'compose'], cli: 'docker', stop: () => {} };
  }
  ensurePodman(log);
  const compose = ensureCompose(log);
  const dir = mkdtempSync(path.join(tmpdir(), 'tshop-deploy-'));
  const socket = path.join(dir, 'podman.sock');
  const env = { ...process.env, CONTAINERS_CONF: containersConf, DOCKER_HOST: `unix://${socket}` };
  const service: ChildProcess = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], { env, stdio: 'ignore' });
  for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(socket)) throw new Error('podman system service did not open its socket');
  // A process of its own: the tests block their event loop while Compose waits for healthy services.
  const pump = spawn('sh', ['-c', HEALTHCHECK_PUMP], { env, stdio: 'ignore', detached: true });
  return {
    env,
    compose: [compose],
    cli: 'podman',
    stop() {
      process.kill(-pump.pid!, 'SIGTERM');
      service.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every 2 s, the healthchecks of every running container that has one (what systemd's timers do elsewhere). */
const HEALTHCHECK_PUMP = `while sleep 2; do
  podman ps --format '{{.ID}} {{.Status}}' | grep -E '[(](healthy|unhealthy|starting)[)]' | cut -d' ' -f1 |
    xargs -r -n1 -P8 podman healthcheck run >/dev/null 2>&1
done`;

/** Runs the engine's CLI (podman or docker) and returns its output. */
export const cli = (engine: Engine, args: string[]) => run(engine.cli, args, { env: engine.env });

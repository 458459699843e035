/**
 * The compose stack under test: docker-compose.yml as an operator runs it, plus
 * test/deploy/compose.test.yml (a Kakao-compatible sink and its test certificate authority).
 * Builds the base images (deploy/base-images, cached) and the images the compose file builds,
 * brings it up under its own project name and API port, and takes it down.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { cli, engineName, run, root, startEngine, type Engine } from './engine.js';

const secret = () => randomBytes(33).toString('base64url');

export interface StackOptions {
  project: string;
  apiPort: number;
  /** Compose profiles to run besides the default services (e.g. operator-ui). */
  profiles?: string[];
  /** More compose files, after docker-compose.yml and the test's own. */
  files?: string[];
  log: (line: string) => void;
}

export interface Stack {
  apiUrl: string;
  env: Record<string, string>;
  compose(args: string[], options?: { quiet?: boolean }): string;
  /** Every JSON line a service printed, parsed. */
  jsonLogs(service: string): Record<string, unknown>[];
  /** Waits until the API answers ready through the published port. */
  ready(timeoutMs?: number): Promise<void>;
  remove(): void;
}

/** The base images (deploy/base-images/build.sh; seconds when they are current). */
export function buildBaseImages(engine: Engine, log: (line: string) => void): void {
  if (engine.cli !== 'podman') return; // against a registry the Dockerfiles pull them
  log('base images (deploy/base-images/build.sh)');
  run('bash', [path.join(root, 'deploy/base-images/build.sh')], { env: engine.env, stdio: ['ignore', 'ignore', 'inherit'] });
}

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string };
}

/** Builds every image the compose file builds, once per image name, with the engine's own builder. */
export function buildImages(engine: Engine, stack: Stack, log: (line: string) => void): void {
  const config = JSON.parse(stack.compose(['--profile', '*', 'config', '--format', 'json'], { quiet: true })) as { services: Record<string, ComposeService> };
  const images = new Map<string, NonNullable<ComposeService['build']>>();
  for (const service of Object.values(config.services)) if (service.image && service.build) images.set(service.image, service.build);
  for (const [image, spec] of images) {
    log(`building ${image}`);
    const started = Date.now();
    const args = ['build', '-t', image, '-f', path.resolve(spec.context, spec.dockerfile ?? 'Dockerfile'), ...(spec.target ? ['--target', spec.target] : []), spec.context];
    cli(engine, args);
    log(`built ${image} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
}

/** Writes the sink (bundled JavaScript), a throwaway certificate authority and the sink's certificate. */
async function sinkFiles(dir: string): Promise<void> {
  await build({ entryPoints: [path.join(root, 'test/deploy/kakao-sink.ts')], outfile: path.join(dir, 'kakao-sink.mjs'), bundle: true, platform: 'node', format: 'esm', logLevel: 'warning' });
  const openssl = (args: string[]) => run('openssl', args, { cwd: dir });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=tshop deploy test CA', '-keyout', 'ca.key', '-out', 'ca.crt']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=kakao-sink', '-keyout', 'sink.key', '-out', 'sink.csr']);
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:kakao-sink\n');
  openssl(['x509', '-req', '-in', 'sink.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'sink.crt']);
  rmSync(path.join(dir, 'ca.key'));
  // Read by the sink and the notifier, which run as unprivileged users of their own.
  chmodSync(dir, 0o755);
  for (const f of ['kakao-sink.mjs', 'ca.crt', 'sink.key', 'sink.crt']) chmodSync(path.join(dir, f), 0o644);
}

export async function createStack(engine: Engine, options: StackOptions): Promise<Stack> {
  const dir = mkdtempSync(path.join(tmpdir(), `${options.project}-`));
  await sinkFiles(dir);
  const kakaoApiKey = secret();
  const env: Record<string, string> = {
    COMPOSE_PROJECT_NAME: options.project,
    API_PORT: String(options.apiPort),
    JWT_SECRET: secret(),
    ASSIGNMENT_TOKEN: secret(),
    PAYLOAD_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    KAKAO_API_URL: 'https://kakao-sink:8443/alimtalk/v2.3/appkeys/test/messages',
    KAKAO_SENDER_KEY: secret(),
    KAKAO_API_KEY: kakaoApiKey,
    DEPLOY_TEST_DIR: dir,
  };
  const files = ['docker-compose.yml', 'test/deploy/compose.test.yml', ...(options.files ?? [])].flatMap((f) => ['-f', path.join(root, f)]);
  const profiles = (options.profiles ?? []).flatMap((p) => ['--profile', p]);
  const compose = (args: string[], { quiet = false } = {}) => {
    const [command, ...pre] = engine.compose;
    if (!quiet) options.log(`compose ${args.join(' ')}`);
    return run(command!, [...pre, '--project-directory', root, ...files, ...(args[0] === '--profile' ? [] : profiles), ...args], { env: { ...engine.env, ...env }, cwd: root });
  };
  const apiUrl = `http://127.0.0.1:${options.apiPort}`;
  return {
    apiUrl,
    env,
    compose,
    jsonLogs(service) {
      return compose(['logs', '--no-color', '--no-log-prefix', service], { quiet: true })
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async ready(timeoutMs = 180_000) {
      const deadline = Date.now() + timeoutMs;
      let last = '';
      while (Date.now() < deadline) {
        try {
          const res = await fetch(`${apiUrl}/readyz`, { signal: AbortSignal.timeout(3000) });
          if (res.ok) return;
          last = `${res.status} ${await res.text()}`;
        } catch (err) {
          last = String(err);
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
      throw new Error(`the API at ${apiUrl} was not ready within ${timeoutMs / 1000} s: ${last}`);
    },
    remove() {
      try {
        compose(['--profile', '*', 'down', '--volumes', '--remove-orphans', '--timeout', '20']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * A test file's stack: the engine started, the base and compose images built, the project brought
 * up from nothing (volumes too) and its API ready. Whatever it started is taken down if it fails.
 */
export async function bringUp(options: StackOptions): Promise<{ engine: Engine; stack: Stack }> {
  options.log(`engine: ${engineName}`);
  const engine = await startEngine(options.log);
  let stack: Stack | undefined;
  try {
    buildBaseImages(engine, options.log);
    stack = await createStack(engine, options);
    buildImages(engine, stack, options.log);
    stack.compose(['--profile', '*', 'down', '--volumes', '--remove-orphans']);
    const started = Date.now();
    stack.compose(['up', '--detach', '--no-build']);
    await stack.ready();
    options.log(`stack ready ${((Date.now() - started) / 1000).toFixed(0)} s after up`);
    return { engine, stack };
  } catch (err) {
    takeDown(engine, stack);
    throw err;
  }
}

/** Removes the stack with its volumes, then stops the engine. */
export function takeDown(engine: Engine | undefined, stack: Stack | undefined): void {
  try {
    stack?.remove();
  } finally {
    engine?.stop();
  }
}

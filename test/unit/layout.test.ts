/**
 * The layout's rules: entry points are imported by nothing, development-only code by no service, and
 * the web app takes nothing from the server but types and plain data.
 */
import { builtinModules } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SHARED_WITH_WEB } from '../../web/build/bundle.js';
import { webBuildOptions } from '../../web/build/esbuild.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const SKIP = new Set(['node_modules', '.git', '.tools', '.data', 'dist', 'histories', 'notifier', '.scratch']);

function sources(dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const file = path.join(dir, e.name);
    if (e.isDirectory()) return SKIP.has(e.name) ? [] : sources(file);
    return /\.(ts|tsx|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [path.relative(root, file)] : [];
  });
}

/** The project files a source file imports (relative specifiers, resolved; `.js` names the `.ts`). */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.\.?\/[^'"]+)['"]/g)].map((m) => m[1]!);
  return specifiers.map((s) => path.normalize(path.join(path.dirname(file), s)).replace(/\.js$/, '.ts'));
}

const files = sources();
const edges = files.flatMap((from) => importsOf(from).map((to) => ({ from, to })));
const topFolder = (f: string) => f.split(path.sep)[0]!;

describe('layout', () => {
  it('finds the sources it checks', () => {
    expect(files).toContain(path.join('cmd', 'api.ts'));
    expect(files).toContain(path.join('app', 'reservation', 'workflow.ts'));
    expect(edges.length).toBeGreaterThan(200);
  });

  it('no module imports an entry point (cmd/)', () => {
    expect(edges.filter((e) => topFolder(e.to) === 'cmd')).toEqual([]);
  });

  it('no service imports the development-only infrastructure (dev/)', () => {
    const allowed = new Set(['cmd', 'dev', 'test', 'bench']);
    expect(edges.filter((e) => topFolder(e.to) === 'dev' && !allowed.has(topFolder(e.from)))).toEqual([]);
  });

  it('the assignment service is one folder: its repository and scoring are not reached around', () => {
    // Anything may use the store repository (the one place stores change); nothing else holds a copy.
    const stray = files.filter((f) => /(^|\/)(geo|assignments)\.ts$/.test(f));
    expect(stray).toEqual([]);
    expect(edges.filter((e) => topFolder(e.from) === 'assignment' && e.to.startsWith(path.join('api', 'routes')))).toEqual([]);
  });
});

/** The package a bundled file of node_modules belongs to (`preact`, `@scope/name`). */
function packageOf(file: string): string {
  const [first, second] = file.slice(file.lastIndexOf('node_modules/') + 'node_modules/'.length).split('/');
  return first!.startsWith('@') ? `${first}/${second}` : first!;
}

/** Every module the web app's type-check reads, following type imports too: its files and the packages they name. */
function webTypeGraph(): { files: Set<string>; packages: Set<string> } {
  const seen = new Set(files.filter((f) => topFolder(f) === 'web' && !f.startsWith(path.join('web', 'build'))));
  const packages = new Set<string>();
  for (const file of seen) {
    const text = readFileSync(path.join(root, file), 'utf8');
    for (const [, bare] of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"./][^'"]*)['"]/g)) packages.add(bare!);
    for (const to of importsOf(file)) if (!seen.has(to) && files.includes(to)) seen.add(to);
  }
  return { files: seen, packages };
}

describe('the web app', () => {
  it('bundles code only from web/, preact, uPlot and the plain data it shares with the server', async () => {
    const { build } = await import('esbuild');
    const result = await build({ ...webBuildOptions(path.join(root, 'dist', 'layout-test')), write: false });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain('web/main.tsx');
    const packages = new Set(inputs.filter((f) => f.includes('node_modules/')).map(packageOf));
    // No zod, Hono or Temporal: the API's shapes reach the app as types only.
    expect([...packages].sort()).toEqual(['preact', 'uplot']);
    const server = inputs.filter((f) => !f.startsWith('web/') && !f.includes('node_modules/'));
    expect(server.filter((f) => !SHARED_WITH_WEB.includes(f))).toEqual([]);
  });

  it("type-checks without the server's Node modules: no Node built-in, db/ or platform/ module is reached, even by a type", () => {
    const { files: reached, packages } = webTypeGraph();
    expect(reached).toContain(path.join('api', 'schemas.ts'));
    const node = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    expect([...packages].filter((p) => node.has(p))).toEqual([]);
    expect([...reached].filter((f) => ['db', 'platform'].includes(topFolder(f)))).toEqual([]);
  });
});

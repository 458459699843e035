/**
 * The layout's rules: entry points are imported by nothing, development-only code by no service, the
 * stack's processes are started in one place, and the web app takes nothing from the server but
 * types and plain data.
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

  describe('the assignment boundary (docs/architecture.md): the service owns its tables', () => {
    const service = path.join('app', 'assignment');
    const inService = (f: string) => f.startsWith(service + path.sep);
    /**
     * What a file outside the service may import from it: its client (anyone), its activities
     * (the worker builds them, a workflow names their types) and the API's /stores routes, and, for the service's own process and the
     * migration-time seed, its app, metrics, schema and seed. Tests may reach anything.
     */
    const mayImport = (from: string, to: string): boolean => {
      if (inService(from) || topFolder(from) === 'test') return true;
      const name = path.basename(to);
      if (name === 'client.ts') return true;
      if (name === 'activities.ts') return topFolder(from) === 'workers' || from.endsWith('workflow.ts');
      if (name === 'routes.ts') return topFolder(from) === 'api';
      if (from === path.join('cmd', 'assignment.ts')) return ['api.ts', 'metrics.ts', 'schema.ts'].includes(name);
      if (from === path.join('db', 'seed.ts')) return ['seed.ts', 'schema.ts'].includes(name);
      return false;
    };
    const strayImports = (list: { from: string; to: string }[]) => list.filter((e) => e.to.startsWith(service + path.sep) && !mayImport(e.from, e.to));

    // A query naming its tables: Kysely's (`selectFrom('stores')`, `'assignment.stores'`) or SQL's (`from assignment.stores`).
    const QUERY = /\b(selectFrom|insertInto|updateTable|deleteFrom|innerJoin|leftJoin|rightJoin|fullJoin|with)\(\s*['"`](assignment\.)?(stores|assignments)\b/;
    const SQL = /\b(from|join|into|update|table)\s+(assignment\.|public\.)?(stores|assignments)\b/i;
    /** Who may name the tables: the service, the migrations, and the checking tool that compares both schemas as the owner. */
    const mayName = (f: string) => inService(f) || f.startsWith(path.join('db', 'migrations') + path.sep) || f === path.join('db', 'invariants.ts') || topFolder(f) === 'test';
    const namesTables = (text: string) => text.split('\n').some((line) => QUERY.test(line) || SQL.test(line));

    it('nothing outside app/assignment/ imports its repository, schema or app, except its own process and the seed', () => {
      expect(strayImports(edges)).toEqual([]);
    });

    it('nothing outside app/assignment/ (but the migrations and db/invariants.ts) names its tables', () => {
      expect(files.filter((f) => !mayName(f) && namesTables(readFileSync(path.join(root, f), 'utf8')))).toEqual([]);
    });

    it('catches a file that reaches around the service', () => {
      expect(strayImports([{ from: path.join('app', 'launch', 'desk.ts'), to: path.join(service, 'repository.ts') }])).toHaveLength(1);
      expect(strayImports([{ from: path.join('api', 'routes', 'dev.ts'), to: path.join(service, 'schema.ts') }])).toHaveLength(1);
      expect(namesTables("deps.db.selectFrom('stores').selectAll()")).toBe(true);
      expect(namesTables('db.updateTable(`assignment.assignments`)')).toBe(true);
      expect(namesTables('sql`select a.reservation_id from assignments a join reservations r`')).toBe(true);
      expect(namesTables("tags: ['stores'], summary: 'List stores'")).toBe(false);
      // And the service is where the rules look: its repository names the tables.
      expect(namesTables(readFileSync(path.join(root, service, 'repository.ts'), 'utf8'))).toBe(true);
    });
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

describe('one way to start the stack', () => {
  /** A file's code without its comments (a comment may name an entry point). */
  const code = (file: string) => readFileSync(path.join(root, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
  const STACK = path.join('dev', 'stack.ts');
  const LAUNCHER = path.join('dev', 'launch.ts');
  /**
   * What else may start a process that outlives the call: tools, never a part of the stack. A
   * new entry here needs a reason as good as these.
   */
  const OTHER_SPAWNERS = new Set([
    path.join('workers', 'bundle-cache.ts'), // webpack for the workflow bundle, in a child to free its memory
    path.join('bench', 'memory-sampler.ts'), // the bench's memory sampler
    path.join('bench', 'compare', 'checkout.ts'), // npm ci in a checkout under comparison
    path.join('bench', 'compare', 'variant.ts'), // a checkout's own invariant check, run once
    path.join('test', 'deploy', 'engine.ts'), // podman, for the deployment tests
    path.join('test', 'integration', 'compose.test.ts'), // the compose scripts under test
    path.join('test', 'integration', 'contract.test.ts'), // schemathesis
  ]);

  it('only the launcher (dev/launch.ts) spawns a long-lived process, besides tools that are no part of the stack', () => {
    const spawners = files.filter((f) => /import\s*\{[^}]*\b(spawn|fork|exec|execFile)\b[^}]*\}\s*from\s*'node:child_process'/.test(code(f)));
    expect(spawners).toContain(LAUNCHER);
    expect(spawners.filter((f) => f !== LAUNCHER && !OTHER_SPAWNERS.has(f))).toEqual([]);
  });

  it('the parts are named, and the servers started, in dev/stack.ts only', () => {
    const part = /['"`][^'"`\n]*(cmd\/(api|worker|assignment|migrate|codec|infra)\.ts|-m\s+notifier)[^'"`\n]*['"`]|['"]-m['"],\s*['"]notifier['"]/;
    // The deployment's manifests are checked for the same commands: named there, started by compose or Kubernetes.
    const manifestTests = new Set([path.join('test', 'integration', 'compose.test.ts'), path.join('test', 'integration', 'kubernetes.test.ts')]);
    const naming = files.filter((f) => !manifestTests.has(f) && part.test(code(f)));
    expect(naming).toContain(STACK);
    expect(naming.filter((f) => f !== STACK)).toEqual([]);
    const starters = /\b(startEmbeddedPostgres|startTemporalDevServer|startTemporalServer)\b/;
    const self = path.join('test', 'unit', 'layout.test.ts');
    const starting = files.filter((f) => !f.startsWith(`dev${path.sep}`) && f !== self && starters.test(code(f)));
    expect(starting).toEqual([]);
    const launching = edges.filter((e) => e.to === LAUNCHER && topFolder(e.from) !== 'dev');
    expect(launching).toEqual([]);
  });
});

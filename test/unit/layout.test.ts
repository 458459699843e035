/**
 * The layout's rules: entry points are imported by nothing, development-only code by no service,
 * and the stack's processes are started in one place.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

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
});

/** The layout's rules: entry points are imported by nothing, development-only code by no service. */
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
});

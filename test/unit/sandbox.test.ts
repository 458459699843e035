/**
 * What the workflow sandbox loads: the value imports reachable from workers/workflows.ts (the file
 * the worker bundles). They may be each domain's workflow, its contract and plain data, and
 * shared/; shared/ in turn holds only what the sandbox may load, so any process can import it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const SANDBOX_PACKAGES = new Set(['@temporalio/workflow', '@temporalio/common']);
const SANDBOX_FILE = /^(shared\/[\w/-]+|app\/[\w-]+\/(workflow|contract|statuses)|workers\/workflows)\.ts$/;

/** Value imports and re-exports of a file (`import type` / `export type` are erased, so they do not count). */
function valueImports(file: string): string[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  const statements = text.matchAll(/^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]/gms);
  return [...statements].filter((m) => !m[1]).map((m) => m[2]!);
}

function resolve(from: string, specifier: string): string {
  const target = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier)).replace(/\.js$/, '.ts');
  if (!existsSync(path.join(root, target))) throw new Error(`${from}: ${specifier} does not resolve`);
  return target;
}

/** Every project file the sandbox loads from `entry`, with the packages each imports. */
function closure(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const specifiers = valueImports(file);
    seen.set(file, specifiers.filter((s) => !s.startsWith('.')));
    for (const s of specifiers.filter((s) => s.startsWith('.'))) visit(resolve(file, s));
  };
  visit(entry);
  return seen;
}

const sharedFiles = readdirSync(path.join(root, 'shared'), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => path.posix.join('shared', f));

describe('the workflow sandbox', () => {
  const loaded = closure('workers/workflows.ts');

  it('reaches every registered workflow', () => {
    expect([...loaded.keys()]).toEqual(expect.arrayContaining(['app/reservation/workflow.ts', 'app/reconcile/workflow.ts', 'app/retention/workflow.ts', 'app/notification/workflow.ts']));
  });

  it('loads only workflows, contracts, plain data and shared/', () => {
    expect([...loaded.keys()].filter((f) => !SANDBOX_FILE.test(f))).toEqual([]);
  });

  it('loads no package but the workflow SDK', () => {
    const packages = [...loaded].flatMap(([file, imports]) => imports.filter((p) => !SANDBOX_PACKAGES.has(p)).map((p) => `${file}: ${p}`));
    expect(packages).toEqual([]);
  });

  it('type imports are not counted as loaded, value imports are', () => {
    expect(valueImports('app/reservation/workflow.ts')).not.toContain('../../workers/activities.js');
    expect(valueImports('workers/workflows.ts')).toContain('../app/reservation/workflow.js');
  });
});

describe('shared/', () => {
  it('holds only what the sandbox may load: no Node built-in, no package but the workflow SDK, nothing outside shared/', () => {
    expect(sharedFiles.length).toBeGreaterThan(1);
    const offending = sharedFiles.flatMap((file) =>
      valueImports(file)
        .filter((s) => (s.startsWith('.') ? !resolve(file, s).startsWith('shared/') : !SANDBOX_PACKAGES.has(s)))
        .map((s) => `${file}: ${s}`),
    );
    expect(offending).toEqual([]);
  });
});

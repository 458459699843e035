/**
 * Bundles the web app (web/main.tsx,
 * Preact) ahead of time with esbuild into content-hashed files, `app-<hash>.js` and
 * `app-<hash>.css` (and the chunks a page loads when it needs them, `app-<hash>.js` too: the desk's
 * charts), and writes `index.html` (from web/index.html) referencing them as
 * `/app/<file>`. Nothing is fetched at run time and nothing is inline, so the page runs under the
 * API's `Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; …`.
 * Default output: dist/web under the repository root.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
const webDir = path.join(projectRoot, 'web');
const DEFAULT_WEB_DIR = path.join(projectRoot, 'dist', 'web');
/** Where index.html finds the bundle: the API serves the output directory's files under this path. */
const WEB_ASSET_PREFIX = '/app/';

/** What an earlier build left in the output directory (and only that: the directory may hold other files). */
const BUILT = /^(app-[A-Za-z0-9]+\.(js|css)|index\.html)$/;

/** How the app is bundled (also how test/unit/layout.test.ts sees what the bundle is made of). */
export function webBuildOptions(outDir: string) {
  return {
    absWorkingDir: projectRoot,
    entryPoints: { app: path.join(webDir, 'main.tsx') },
    outdir: outDir,
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    // Code only one page needs (the charts library) is loaded by that page, not by every customer's.
    chunkNames: 'app-[hash]',
    splitting: true,
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2020',
    platform: 'browser',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    // Korean text stays UTF-8 instead of \uXXXX escapes (a third of the size).
    charset: 'utf8',
    legalComments: 'eof',
    sourcemap: false,
    metafile: true,
    logLevel: 'silent',
    tsconfig: path.join(webDir, 'tsconfig.json'),
  } satisfies BuildOptions;
}

export async function buildWeb(outDir: string = DEFAULT_WEB_DIR): Promise<{ outDir: string; files: string[] }> {
  const out = path.resolve(outDir);
  mkdirSync(out, { recursive: true });
  for (const name of readdirSync(out)) if (BUILT.test(name)) rmSync(path.join(out, name));

  // Loaded here, not at the top: the API compiled for the image (npm run build:dist) carries this
  // module inline, and the image has no esbuild (a development dependency) nor needs it.
  const { build } = await import('esbuild');
  const result = await build({ ...webBuildOptions(out), write: true });

  const outputs = Object.entries(result.metafile.outputs);
  const entry = outputs.find(([, o]) => o.entryPoint !== undefined && o.entryPoint.endsWith('web/main.tsx'));
  if (!entry) throw new Error('esbuild produced no bundle for web/main.tsx');
  const js = path.basename(entry[0]);
  const css = entry[1].cssBundle ? path.basename(entry[1].cssBundle) : undefined;
  if (!css) throw new Error('esbuild produced no stylesheet for web/main.tsx (web/styles.css not imported?)');

  // The chunks the entry imports at once (code shared with a page's lazy chunk): fetched beside it, not after it.
  const preloads = entry[1].imports
    .filter((i) => i.kind === 'import-statement' && !i.external)
    .map((i) => `<link rel="modulepreload" href="${WEB_ASSET_PREFIX}${path.basename(i.path)}" />`)
    .join('\n    ');
  const template = readFileSync(path.join(webDir, 'index.html'), 'utf8');
  if (!template.includes('%APP_JS%') || !template.includes('%APP_CSS%') || !template.includes('%APP_PRELOAD%')) {
    throw new Error('web/index.html lacks the %APP_JS%, %APP_CSS% or %APP_PRELOAD% placeholder');
  }
  const html = template
    .replaceAll('%APP_JS%', `${WEB_ASSET_PREFIX}${js}`)
    .replaceAll('%APP_CSS%', `${WEB_ASSET_PREFIX}${css}`)
    .replace('%APP_PRELOAD%', preloads);
  writeFileSync(path.join(out, 'index.html'), html);

  const files = [js, css, 'index.html'];
  for (const f of outputs.map(([p]) => path.basename(p))) if (!files.includes(f)) files.push(f);
  return { outDir: out, files };
}

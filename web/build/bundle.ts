/**
 * The web app's bundle for the API to serve: built into `dir` (WEB_DIR, `dist/web`) unless it is
 * there already, built from the sources as they are now (a hash of web/, this build included, is
 * kept beside it). `npm run build:web` (cmd/build-web.ts) builds it whatever is there (the image does).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const STAMP = '.sources';

/**
 * The modules outside web/ whose code the bundle may carry: plain data the server uses too. Nothing
 * else outside web/ may reach the bundle but types (test/unit/layout.test.ts).
 */
export const SHARED_WITH_WEB = ['app/reservation/statuses.ts', 'shared/districts.ts'];

/** A hash of every file the bundle is built from. */
function sourcesHash(): string {
  const hash = createHash('sha256');
  const add = (file: string) => hash.update(path.relative(root, file)).update(readFileSync(file));
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) walk(file);
      else add(file);
    }
  };
  walk(path.join(root, 'web'));
  for (const file of SHARED_WITH_WEB) add(path.join(root, file));
  return hash.digest('hex');
}

export async function ensureWebBundle(dir: string, force = false): Promise<string> {
  // The image carries the bundle (built with its stamp by `npm run build:web`) and not the sources
  // it came from: there it is served as built.
  if (!force && !existsSync(path.join(root, 'web'))) {
    if (!existsSync(path.join(dir, 'index.html'))) throw new Error(`no web app in ${dir}, and no sources in ${path.join(root, 'web')} to build it from`);
    return dir;
  }
  const stampFile = path.join(dir, STAMP);
  const stamp = sourcesHash();
  const current = existsSync(path.join(dir, 'index.html')) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp;
  if (current && !force) return dir;
  const { buildWeb } = await import('./esbuild.js');
  await buildWeb(dir);
  writeFileSync(stampFile, stamp);
  return dir;
}

/**
 * The web app (web/, bundled ahead of time by web/build/esbuild.ts): `/` and its content-hashed
 * assets under `/app/`, public like the docs. Nothing is fetched from elsewhere, and the policy
 * says so to the browser.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Hono } from 'hono';
import { Problem } from '../errors.js';

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
};

/** Serves the bundle in `dir` (index.html and its assets); files are read once and kept. */
export function webRoutes(dir: string) {
  const app = new Hono();
  const cache = new Map<string, Promise<Buffer>>();
  const read = (name: string) => {
    if (!cache.has(name)) cache.set(name, readFile(path.join(dir, name)));
    return cache.get(name)!.catch((err) => {
      cache.delete(name);
      throw err;
    });
  };
  /** The app's page; the hashed assets it names change with every build, the page never caches. */
  app.get('/', async (c) =>
    c.body(new Uint8Array(await read('index.html')), 200, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }),
  );
  /** One asset; a name with a path in it is not one. */
  app.get('/app/:file', async (c) => {
    const file = c.req.param('file');
    const type = TYPES[path.extname(file)];
    const missing = new Problem(404, 'NOT_FOUND', `no asset ${file}`);
    if (!/^[\w.-]+$/.test(file) || !type) throw missing;
    const body = await read(file).catch(() => undefined);
    if (!body) throw missing;
    return c.body(new Uint8Array(body), 200, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'public, max-age=31536000, immutable' });
  });
  return app;
}

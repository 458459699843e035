import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Hono } from 'hono';

const require = createRequire(import.meta.url);
const assetsDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Tshop Reserve API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="docs"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>`;

/**
 * A token given to "Authorize" stays in the page's memory only: persisted, it would sit in
 * localStorage on the API's own origin, where any script of that origin (the web app's too) reads it.
 */
const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#docs', persistAuthorization: false, tryItOutEnabled: true });\n`;

/**
 * Nothing inline and nothing from elsewhere; never framed (a token pasted into a framed page could
 * be clickjacked). Swagger UI's icons are data: URIs in its stylesheet.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** The interactive API docs (Swagger UI, served from the package: no CDN, works offline). */
export function docsRoutes() {
  const app = new Hono();
  const cache = new Map<string, string>();
  /** The docs page. */
  app.get('/', (c) => c.html(PAGE, 200, SECURITY_HEADERS));
  /** Its start. */
  app.get('/init.js', (c) => c.body(INIT, 200, { ...SECURITY_HEADERS, 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' }));
  /** Swagger UI's two static assets. */
  app.get('/:asset', (c) => {
    const name = c.req.param('asset');
    const type = ASSETS[name];
    if (!type) return c.notFound();
    if (!cache.has(name)) cache.set(name, readFileSync(path.join(assetsDir, name), 'utf8'));
    return c.body(cache.get(name)!, 200, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'public, max-age=86400' });
  });
  return app;
}

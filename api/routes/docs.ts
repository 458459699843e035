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
  <script>
    window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#docs', persistAuthorization: true, tryItOutEnabled: true });
  </script>
</body>
</html>`;

/** The interactive API docs (Swagger UI, served from the package: no CDN, works offline). */
export function docsRoutes() {
  const app = new Hono();
  const cache = new Map<string, string>();
  /** The docs page. */
  app.get('/', (c) => c.html(PAGE));
  /** Its two static assets. */
  app.get('/:asset', (c) => {
    const name = c.req.param('asset');
    const type = ASSETS[name];
    if (!type) return c.notFound();
    if (!cache.has(name)) cache.set(name, readFileSync(path.join(assetsDir, name), 'utf8'));
    return c.body(cache.get(name)!, 200, { 'content-type': type, 'cache-control': 'public, max-age=86400' });
  });
  return app;
}

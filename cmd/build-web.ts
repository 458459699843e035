/** `npm run build:web [-- <dir>]`: builds the web app into `dir` (default dist/web), whatever is there. */
import path from 'node:path';
import { runMain, say } from '../platform/run-main.js';
import { ensureWebBundle } from '../web/build/bundle.js';

runMain('tshop-build-web', async () => {
  const dir = path.resolve(process.argv[2] ?? 'dist/web');
  await ensureWebBundle(dir, true);
  say(`web app built into ${dir}`);
  process.exit(0);
});

/**
 * The Python notifier's (notifier/) pinned requirements, in a venv of its own under `.tools/` (made
 * on first start, rebuilt when they change). dev/stack.ts starts it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StartupError } from '../platform/process.js';
import { fileStamp, installPythonTool } from './python.js';

const projectRoot = fileURLToPath(new URL('../', import.meta.url));
const notifierDir = path.join(projectRoot, 'notifier');

/** Installs one of the notifier's requirement sets into its venv; the venv's python. */
function installVenv(name: string, requirements: string, say: (line: string) => void): string {
  const venv = path.join(projectRoot, '.tools', name);
  const file = path.join(notifierDir, requirements);
  // requirements-test.txt includes requirements.txt (`-r`): a change to either rebuilds the venv.
  const stamp = [file, path.join(notifierDir, 'requirements.txt')].map(fileStamp).join(':');
  const python = installPythonTool(venv, 'python', ['-r', file], stamp);
  if (python) return python;
  say(`installing the notifier's Python requirements (notifier/${requirements}) into .tools/${name} failed`);
  throw new StartupError(`could not install notifier/${requirements} into .tools/${name} (needs python3 with venv, and PyPI)`);
}

/** The notifier's runtime venv (`.tools/notifier`). */
export const installNotifier = (say: (line: string) => void = () => undefined) => installVenv('notifier', 'requirements.txt', say);
/** The venv its tests run in (`.tools/notifier-test`: the runtime requirements and pytest). */
export const installNotifierTests = (say: (line: string) => void = () => undefined) => installVenv('notifier-test', 'requirements-test.txt', say);

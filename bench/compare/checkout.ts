/**
 * The code a comparison runs: this checkout, or a git ref checked out into a temporary worktree
 * (`git worktree add --detach`), with this checkout's node_modules linked in when the lock files
 * agree, else its own `npm ci`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { trackChild } from '../../platform/process.js';

export interface Checkout {
  dir: string;
  /** The ref as given (`--base`), or HEAD for this checkout. */
  ref: string;
  commit: string;
  subject: string;
  /** Tracked files changed since the commit (only this checkout can have them). */
  dirty: boolean;
}

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 2 ** 20 }).trim();

/** This checkout as it is, uncommitted changes included. */
export function thisCheckout(root: string): Checkout {
  return {
    dir: root,
    ref: 'HEAD',
    commit: git(root, 'rev-parse', 'HEAD'),
    subject: git(root, 'log', '-1', '--format=%s'),
    dirty: git(root, 'status', '--porcelain', '--untracked-files=no').length > 0,
  };
}

/** The commit a ref names; throws (before anything is started) if it names none. */
function resolveRef(root: string, ref: string): string {
  try {
    return git(root, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`);
  } catch {
    throw new Error(`--base ${ref}: not a commit in this repository`);
  }
}

export interface CheckoutHooks {
  say(line: string): void;
  /** Registers what undoes a step (the worktree, an npm ci in flight), so that an interrupt undoes it. */
  onUndo(undo: () => Promise<void> | void): void;
}

/** Checks `ref` out into a temporary worktree with its dependencies installed. */
export async function addWorktree(root: string, ref: string, hooks: CheckoutHooks): Promise<Checkout> {
  const commit = resolveRef(root, ref);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tshop-compare-base-'));
  // As root, the embedded PostgreSQL runs as another user, who must reach its binaries under it.
  chmodSync(dir, 0o755);
  hooks.onUndo(() => removeWorktree(root, dir));
  hooks.say(`checking out ${commit.startsWith(ref) ? ref : `${ref} (${commit.slice(0, 7)})`} into ${dir} …`);
  git(root, 'worktree', 'add', '--detach', dir, commit);
  await provideModules(root, dir, commit, hooks);
  return { dir, ref, commit, subject: git(root, 'log', '-1', '--format=%s', commit), dirty: false };
}

/** Removes the worktree and whatever is left of its directory (an add that failed half way). */
function removeWorktree(root: string, dir: string): void {
  try {
    git(root, 'worktree', 'remove', '--force', dir);
  } catch {
    // Not (or no longer) a registered worktree: the directory alone is removed below.
  }
  rmSync(dir, { recursive: true, force: true });
  git(root, 'worktree', 'prune');
}

/** node_modules for the worktree: a link to ours when package-lock.json is identical, else `npm ci`. */
async function provideModules(root: string, dir: string, commit: string, hooks: CheckoutHooks): Promise<void> {
  const theirs = git(root, 'show', `${commit}:package-lock.json`);
  const ours = readFileSync(path.join(root, 'package-lock.json'), 'utf8').trim();
  if (theirs === ours && existsSync(path.join(root, 'node_modules'))) {
    symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    return;
  }
  hooks.say('package-lock.json differs from this checkout: npm ci in the base checkout …');
  await npmCi(dir, hooks);
}

function npmCi(dir: string, hooks: CheckoutHooks): Promise<void> {
  const child = spawn('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const untrack = trackChild(child.pid!);
  hooks.onUndo(() => void (child.exitCode === null && child.kill('SIGKILL')));
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-16_384));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      untrack();
      if (code === 0) resolve();
      else reject(new Error(`npm ci in ${dir} failed (${code}):\n${out}`));
    }),
  );
}

/**
 * Without TEMPORAL_CLI_PATH, start:infra looks for the CLI in the checkout's `.tools/` (installing it
 * there if missing): the worktree shares ours rather than installing its own on every comparison.
 * Called once this checkout's stack has started, so that ours has been installed by then.
 */
export function shareTools(root: string, checkout: Checkout): void {
  const ours = path.join(root, '.tools');
  const theirs = path.join(checkout.dir, '.tools');
  if (checkout.dir === root || process.env.TEMPORAL_CLI_PATH || !existsSync(ours) || existsSync(theirs)) return;
  symlinkSync(ours, theirs, 'dir');
}

/** One line for the report: the ref, its commit and subject, and any uncommitted changes. */
export function describe(c: Checkout): string {
  const ref = c.ref === 'HEAD' ? 'this checkout' : c.ref;
  return `${ref} @ ${c.commit.slice(0, 7)} "${c.subject.length > 100 ? `${c.subject.slice(0, 97)}…` : c.subject}"${c.dirty ? ' + uncommitted changes' : ''}`;
}

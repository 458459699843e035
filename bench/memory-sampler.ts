/** Starts bench/sampler.ts as a child process and collects the peak memory of each tree from it. */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { trackChild } from '../platform/process.js';
import type { Roots, TreeMemory } from './procfs.js';

export interface PeakMemory {
  peak: Record<string, TreeMemory>;
  samples: number;
  sampleMs: number;
  /** PSS was read at every pssEvery-th sample only. */
  pssEvery: number;
}

export interface MemorySampler {
  pid: number;
  /** Sets the trees to sample (the sampler's own pid may be among them). */
  watch(roots: Roots): void;
  /** Stops sampling and returns the peaks. */
  stop(): Promise<PeakMemory>;
  /** Ends the sampler without waiting for its answer (teardown after a failure or a signal). */
  kill(): void;
}

export function startMemorySampler(): MemorySampler {
  const child = fork(fileURLToPath(new URL('./sampler.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const untrack = trackChild(child.pid!);
  return {
    pid: child.pid!,
    watch: (roots) => child.send({ roots }),
    stop: () =>
      new Promise<PeakMemory>((resolve, reject) => {
        child.once('message', (m) => {
          untrack();
          resolve(m as PeakMemory);
        });
        child.once('exit', (code) => reject(new Error(`memory sampler exited (${code}) without an answer`)));
        child.send({ stop: true });
      }),
    kill: () => {
      untrack();
      child.kill('SIGKILL');
    },
  };
}

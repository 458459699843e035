/**
 * The peak-memory sampler, run as its own process (forked by bench/memory-sampler.ts) so that its
 * reads of /proc are not charged to the load generator's CPU. It receives the trees to watch,
 * samples RSS every SAMPLE_MS and PSS every PSS_EVERY-th sample (smaps_rollup costs ~25 ms for the
 * whole stack: four times a second would take a tenth of a core from the system under test), and
 * on "stop" answers with the peaks and exits.
 */
import { maxMemory, treeMemory, type Roots, type TreeMemory } from './procfs.js';

const SAMPLE_MS = 250;
const PSS_EVERY = 8;

let roots: Roots = {};
let peak: Record<string, TreeMemory> = {};
let samples = 0;

const timer = setInterval(() => {
  peak = maxMemory(peak, treeMemory(roots, samples % PSS_EVERY === 0));
  samples++;
}, SAMPLE_MS);

process.on('message', (message: { roots?: Roots; stop?: boolean }) => {
  if (message.roots) roots = message.roots;
  if (message.stop) {
    clearInterval(timer);
    process.send!({ peak, samples, sampleMs: SAMPLE_MS, pssEvery: PSS_EVERY }, () => process.exit(0));
  }
});
// The bench went away without saying stop: nothing left to report to.
process.on('disconnect', () => process.exit(0));

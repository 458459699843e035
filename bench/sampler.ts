/**
 * The peak-memory sampler, run as its own process (forked by bench/memory-sampler.ts) so that its
 * reads of /proc are not charged to the load generator's CPU. It receives the trees to watch and
 * samples RSS every SAMPLE_MS. Costlier reads come every PSS_EVERY-th sample only: PSS
 * (smaps_rollup costs ~25 ms for the whole stack, four times a second would take a tenth of a core
 * from the system under test) and the trees' membership (a scan of every process on the machine).
 * On "stop" it answers with the peaks and exits.
 */
import { maxMemory, members, membersMemory, type Roots, type TreeMemory } from './procfs.js';

const SAMPLE_MS = 250;
const PSS_EVERY = 8;

let roots: Roots = {};
let trees: Record<string, number[]> = {};
let peak: Record<string, TreeMemory> = {};
let samples = 0;

const timer = setInterval(() => {
  const full = samples % PSS_EVERY === 0;
  if (full) trees = members(roots);
  peak = maxMemory(peak, membersMemory(trees, full));
  samples++;
}, SAMPLE_MS);

process.on('message', (message: { roots?: Roots; stop?: boolean }) => {
  if (message.roots) {
    roots = message.roots;
    samples = 0; // the next sample finds the trees' members
  }
  if (message.stop) {
    clearInterval(timer);
    process.send!({ peak, samples, sampleMs: SAMPLE_MS, pssEvery: PSS_EVERY }, () => process.exit(0));
  }
});
// The bench went away without saying stop: nothing left to report to.
process.on('disconnect', () => process.exit(0));

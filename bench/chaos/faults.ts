/**
 * What happens to the stack during the chaos run, cycle after cycle: the worker SIGKILLed, the
 * assignment service down past the assignment deadline (so reservations fall back to central
 * delivery and an operator re-drives them with the `reassign` signal), the notifier SIGKILLed and
 * kept down, the Temporal dev server restarted, the API SIGKILLed with requests in flight,
 * PostgreSQL restarted.
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { CENTRAL_STORE, reassignSignal } from '../../app/reservation/contract.js';
import type { Stack } from '../../dev/stack.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface FaultLog {
  faults: string[];
  reassignSignals: number;
  /** Per part, how long each restart took to serve again: from its start to its ready line (the time it was kept down not counted). */
  backAfterMs: Record<string, number[]>;
}

/** Restarts a part and records how long it took, once started again, to be ready. */
async function restart(stack: Stack, log: FaultLog, part: Parameters<Stack['part']>[0], signal: NodeJS.Signals, downMs: number) {
  const handle = stack.part(part);
  await handle.stop(signal);
  await sleep(downMs);
  const started = Date.now();
  await handle.start();
  (log.backAfterMs[part] ??= []).push(Date.now() - started);
}

export interface FaultOptions {
  cycles: number;
  loadEnds: number;
  loadMs: number;
  /** How long the assignment service stays down: longer than the assignment deadline. */
  assignmentOutageMs: number;
  say(line: string): void;
}

/** Runs `cycles` fault cycles spread over the load period. */
export async function runFaults(stack: Stack, operator: Operator, o: FaultOptions, log: FaultLog): Promise<void> {
  const cycleMs = o.loadMs / o.cycles;
  const loadStarts = o.loadEnds - o.loadMs;
  for (let n = 0; n < o.cycles; n++) {
    const at = (fraction: number) => sleep(Math.max(0, loadStarts + (n + fraction) * cycleMs - Date.now()));
    const fault = (what: string) => {
      o.say(`fault ${n + 1}/${o.cycles}: ${what}`);
      log.faults.push(what);
    };
    await at(0.05);
    fault('SIGKILL the worker; start it again 2 s later');
    await restart(stack, log, 'worker', 'SIGKILL', 2_000);
    await at(0.2);
    fault(`stop the assignment service for ${o.assignmentOutageMs / 1000} s (past the assignment deadline)`);
    await restart(stack, log, 'assignment', 'SIGTERM', o.assignmentOutageMs);
    await sleep(5_000);
    const signalled = await operator.reassignCentralDeliveries();
    log.reassignSignals += signalled;
    o.say(`operator: reassign signalled to ${signalled} central-delivery reservation(s)`);
    await at(0.4);
    fault('SIGKILL the notifier, mid-send; start it again 15 s later');
    await restart(stack, log, 'notifier', 'SIGKILL', 15_000);
    await at(0.5);
    fault('restart the Temporal dev server (state kept in SQLite)');
    await restart(stack, log, 'temporal', 'SIGTERM', 0);
    await at(0.65);
    fault('SIGKILL the API with requests in flight; start it again 1 s later');
    await restart(stack, log, 'api', 'SIGKILL', 1_000);
    await at(0.8);
    fault('restart PostgreSQL');
    await restart(stack, log, 'postgres', 'SIGINT', 0);
  }
}

export interface Operator {
  reassignCentralDeliveries(): Promise<number>;
}

/**
 * An operator in the Web UI or the CLI: every reservation the deadline sent to central delivery
 * gets a `reassign` signal.
 */
export function createOperator(db: Kysely<Database>, temporal: Client): Operator {
  return {
    async reassignCentralDeliveries() {
      const fallbacks = await db
        .selectFrom('reservations')
        .select('workflow_id')
        .where('status', '=', 'CONFIRMED')
        .where('store_id', '=', CENTRAL_STORE.id)
        .execute();
      let signalled = 0;
      for (const { workflow_id } of fallbacks) {
        if (!workflow_id) continue;
        // One that ended meanwhile answers not-found: nothing to re-drive.
        const sent = await temporal.workflow.getHandle(workflow_id).signal(reassignSignal, { by: 'chaos-operator' }).then(() => true, () => false);
        if (sent) signalled++;
      }
      return signalled;
    },
  };
}

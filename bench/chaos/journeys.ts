/**
 * One customer's journey through the chaos run: reserve (a place in line, 202, followed until it
 * ends: RESERVED is the reservation it names, SOLD_OUT a refusal with no reservation), then one of
 * the lifecycle's endings — cancel soon after, collect the phone at the store (complete), or never
 * come (the hold expires). Each journey records what its answers promise, which the run checks
 * against the final state.
 */
import { randomUUID } from 'node:crypto';
import { SEOUL_DISTRICTS } from '../../shared/districts.js';
import { TERMINAL_STATUSES, type ReservationStatus } from '../../app/reservation/contract.js';
import type { ChaosClient, TicketView } from './client.js';

export type Fate = 'cancel' | 'complete' | 'expire';
type Ending = 'REJECTED' | 'CANCELLED' | 'COMPLETED' | 'EXPIRED';

export interface Journey {
  key: string;
  fate: Fate;
  /** The reserve call's final answer (its status code), once there is one. */
  reserve?: number;
  /** From the first request to the final answer, through every retry (a 202's: its place in line). */
  decidedMs?: number;
  /** A place in line the reserve was answered with (202): how it ended, and when (from the first request). */
  ticket?: { id: string; ended?: string; endedMs?: number };
  /** Whether the customer got a unit: 201, or a ticket RESERVED. */
  accepted?: boolean;
  /** The reservation: the 201's, or the one a RESERVED ticket names (a direct 409's recorded refusal too). */
  id?: string;
  /** Where the answers put the reservation. */
  expected?: Ending;
  /** Collected after its hold had already ended: the staff came too late (EXPIRED is right). */
  late?: boolean;
  /** For a collected one: when the hand-over was answered 202, and the hold it answered within. */
  handedOver?: { at: string; holdUntil: unknown };
  /** Why the journey failed: an answer that never came or was not one the API may give. */
  failure?: string;
}

/** Endings in proportion: a few cancel, most collect the phone, some never come. */
export function drawFate(): Fate {
  const x = Math.random();
  return x < 0.25 ? 'cancel' : x < 0.7 ? 'complete' : 'expire';
}

export interface JourneyOptions {
  productId: number;
  /** How long each of the journey's requests may take, retries included, before it counts as lost. */
  answerWithinMs: number;
  /** The longest a customer waits before collecting the phone (drawn uniformly up to it). */
  collectWithinMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isTerminal = (s: string) => TERMINAL_STATUSES.has(s as ReservationStatus);

export async function runJourney(c: ChaosClient, j: Journey, o: JourneyOptions): Promise<void> {
  const district = SEOUL_DISTRICTS[Math.floor(Math.random() * SEOUL_DISTRICTS.length)]!.ko;
  const body = { productId: o.productId, customer: { id: `chaos-${randomUUID().slice(0, 8)}`, district } };
  const started = Date.now();
  const answer = await c.final('POST', '/reservations', body, j.key, started + o.answerWithinMs);
  if (!answer) return void (j.failure = 'reserve: no final answer');
  j.decidedMs = Date.now() - started;
  j.reserve = answer.status;
  if (answer.status === 202) return followTicket(c, j, answer.body as unknown as TicketView, started, o);
  // A refusal on arrival is recorded (reservationId) unless the product sold out through its line (null).
  j.id = (answer.body.id ?? answer.body.reservationId ?? undefined) as string | undefined;
  if (answer.status === 409 && answer.body.code === 'OUT_OF_STOCK') return void (j.expected = 'REJECTED');
  if (answer.status !== 201 || !j.id) return void (j.failure = `reserve answered ${answer.status} ${String(answer.body.code ?? '')}`);
  j.accepted = true;
  return lifecycle(c, j, j.id, o);
}

/**
 * A place in line, followed until it ends: RESERVED goes on with the reservation it names; SOLD_OUT
 * is a refusal with no reservation of the journey's (verify.ts checks the ticket's own row); anything
 * else fails the journey.
 */
async function followTicket(c: ChaosClient, j: Journey, first: TicketView, started: number, o: JourneyOptions) {
  j.ticket = { id: first.id };
  const ended = await c.follow(first, started + o.answerWithinMs);
  if (!ended) return void (j.failure = `ticket ${first.id}: still waiting after ${o.answerWithinMs / 1000} s`);
  j.ticket.ended = ended.status;
  j.ticket.endedMs = Date.now() - started;
  if (ended.status === 'SOLD_OUT') return;
  if (ended.status !== 'RESERVED' || !ended.reservationId) return void (j.failure = `ticket ${first.id} ended ${ended.status}${ended.refusal ? ` (${ended.refusal})` : ''}`);
  j.id = ended.reservationId;
  j.accepted = true;
  return lifecycle(c, j, j.id, o);
}

/** What the customer does with the reservation: cancel, collect, or let it expire. */
async function lifecycle(c: ChaosClient, j: Journey, id: string, o: JourneyOptions): Promise<void> {
  if (j.fate === 'cancel') return cancel(c, j, id, o);
  if (j.fate === 'complete') return collect(c, j, id, o);
  j.expected = 'EXPIRED';
}

async function cancel(c: ChaosClient, j: Journey, id: string, o: JourneyOptions) {
  await sleep(Math.random() * 3_000);
  const answer = await c.final('POST', `/reservations/${id}/cancel`, { reason: 'chaos' }, `${j.key}-cancel`, Date.now() + o.answerWithinMs);
  if (answer?.status === 202) return void (j.expected = 'CANCELLED');
  j.failure = answer ? `cancel answered ${answer.status} ${String(answer.body.code ?? '')}` : 'cancel: no final answer';
}

/** The customer comes to the store (or the courier delivers) once it is confirmed; the staff complete it. */
async function collect(c: ChaosClient, j: Journey, id: string, o: JourneyOptions) {
  await sleep(Math.random() * o.collectWithinMs);
  const deadline = Date.now() + o.answerWithinMs;
  const status = await c.until(id, (s) => s === 'CONFIRMED' || isTerminal(s), deadline);
  if (status === 'EXPIRED') return tooLate(j);
  if (status !== 'CONFIRMED') return void (j.failure = `never confirmed (last read ${status ?? 'nothing'})`);
  const answer = await c.final('POST', `/reservations/${id}/complete`, { by: 'chaos-staff' }, undefined, deadline);
  if (answer?.status === 202) {
    j.handedOver = { at: new Date().toISOString(), holdUntil: answer.body.holdUntil };
    return void (j.expected = 'COMPLETED');
  }
  // A repeat after the first request went through (its answer lost with the API) finds it done.
  const now = answer?.body.reservationStatus;
  if (answer?.status === 409 && now === 'COMPLETED') return void (j.expected = 'COMPLETED');
  if (answer?.status === 409 && (now === 'EXPIRED' || answer.body.code === 'HOLD_ENDED')) return tooLate(j);
  j.failure = answer ? `complete answered ${answer.status} ${String(answer.body.code ?? '')}` : 'complete: no final answer';
}

function tooLate(j: Journey) {
  j.late = true;
  j.expected = 'EXPIRED';
}

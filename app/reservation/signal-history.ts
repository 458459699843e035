/** What a workflow's history says about the signals it was sent. */
import { isGrpcServiceError, ServiceError, type Client } from '@temporalio/client';
import type { LoadedDataConverter, Payload } from '@temporalio/common';

/** gRPC's NOT_FOUND: no such workflow, or its history is past the namespace's retention. */
const NOT_FOUND = 5;

/**
 * Whether the workflow was ever sent a `name` signal whose input `matches`. Read from the history,
 * which the server keeps whatever happened to the sender's process afterwards, and which needs no
 * worker (it is there for a closed workflow too, until its retention ends).
 */
export async function wasSignalled(client: Client, workflowId: string, name: string, matches: (input: unknown) => boolean): Promise<boolean> {
  let history;
  try {
    history = await client.workflow.getHandle(workflowId).fetchHistory();
  } catch (err) {
    if (isGrpcServiceError(err) && err.code === NOT_FOUND) return false;
    // Temporal down or restarting: a 503 for the caller to repeat, as any other call to it.
    throw new ServiceError('could not read the workflow history', { cause: err as Error });
  }
  for (const event of history.events ?? []) {
    const signalled = event.workflowExecutionSignaledEventAttributes;
    const first = signalled?.signalName === name ? signalled.input?.payloads?.[0] : undefined;
    if (first && matches(await decoded(client.options.loadedDataConverter, first).catch(() => undefined))) return true;
  }
  return false;
}

/** A payload as the workflow read it: through the client's codecs (decryption), last first, then JSON. */
async function decoded(converter: LoadedDataConverter, payload: Payload): Promise<unknown> {
  let p = payload;
  for (const codec of [...converter.payloadCodecs].reverse()) [p] = (await codec.decode([p])) as [Payload];
  return converter.payloadConverter.fromPayload(p);
}

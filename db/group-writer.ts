/**
 * Group commit for writes that many requests make at once (a launch's sold-out refusals, its queue
 * joins): a write that arrives while a group is being written waits for it, then goes with every
 * write that queued meanwhile in one statement. Alone, a write goes at once, so it adds no latency
 * at low load. `writeGroup` answers each item of its group, in order.
 */
export type GroupWriter<T, R = void> = (item: T) => Promise<R>;

export function groupWriter<T, R = void>(writeGroup: (items: T[]) => Promise<R[] | void>, maxGroup = 250): GroupWriter<T, R> {
  let queue: { item: T; done: (result: R) => void; failed: (err: unknown) => void }[] = [];
  let writing = false;
  const drain = async () => {
    writing = true;
    while (queue.length > 0) {
      const group = queue.slice(0, maxGroup);
      queue = queue.slice(group.length);
      try {
        const results = await writeGroup(group.map((g) => g.item));
        group.forEach((g, i) => g.done((results ?? [])[i] as R));
      } catch (err) {
        for (const g of group) g.failed(err);
      }
    }
    writing = false;
  };
  return (item) =>
    new Promise<R>((done, failed) => {
      queue.push({ item, done, failed });
      if (!writing) void drain();
    });
}

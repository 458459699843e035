/**
 * Group commit for writes that many requests make at once (a launch burst's sold-out refusals): a
 * write that arrives while a group is being written waits for it, then goes with every write that
 * queued meanwhile in one statement. Alone, a write goes at once, so it adds no latency at low load.
 */
export type GroupWriter<T> = (item: T) => Promise<void>;

export function groupWriter<T>(writeGroup: (items: T[]) => Promise<void>, maxGroup = 250): GroupWriter<T> {
  let queue: { item: T; done: () => void; failed: (err: unknown) => void }[] = [];
  let writing = false;
  const drain = async () => {
    writing = true;
    while (queue.length > 0) {
      const group = queue.slice(0, maxGroup);
      queue = queue.slice(group.length);
      try {
        await writeGroup(group.map((g) => g.item));
        for (const g of group) g.done();
      } catch (err) {
        for (const g of group) g.failed(err);
      }
    }
    writing = false;
  };
  return (item) =>
    new Promise<void>((done, failed) => {
      queue.push({ item, done, failed });
      if (!writing) void drain();
    });
}

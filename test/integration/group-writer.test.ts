/** The group writer: one write alone goes at once; writes that arrive meanwhile go together, in order. */
import { expect, it } from 'vitest';
import { groupWriter } from '../../db/group-writer.js';

it('writes alone at once, and groups what queues while a write is in flight', async () => {
  const groups: number[][] = [];
  let release!: () => void;
  const write = groupWriter<number>(async (items) => {
    groups.push(items);
    if (groups.length === 1) await new Promise<void>((r) => (release = r));
  });
  const first = write(1);
  const rest = [2, 3, 4].map((n) => write(n));
  expect(groups).toEqual([[1]]);
  release();
  await Promise.all([first, ...rest]);
  expect(groups).toEqual([[1], [2, 3, 4]]);
});

it('fails every write of a failed group, and goes on with the next', async () => {
  let calls = 0;
  let release!: () => void;
  const write = groupWriter<number>(async (items) => {
    calls++;
    if (calls === 1) await new Promise<void>((r) => (release = r));
    if (items.includes(13)) throw new Error('unlucky group');
  });
  const held = write(1);
  const unlucky = [write(13), write(14)];
  release();
  await held;
  await expect(Promise.all(unlucky)).rejects.toThrow('unlucky group');
  await expect(unlucky[1]).rejects.toThrow('unlucky group');
  await expect(write(15)).resolves.toBeUndefined();
});

it('splits a long queue into groups of at most the given size', async () => {
  const sizes: number[] = [];
  let release!: () => void;
  const write = groupWriter<number>(async (items) => {
    sizes.push(items.length);
    if (sizes.length === 1) await new Promise<void>((r) => (release = r));
  }, 3);
  const all = [write(0), ...Array.from({ length: 7 }, (_, i) => write(i + 1))];
  release();
  await Promise.all(all);
  expect(sizes).toEqual([1, 3, 3, 1]);
});

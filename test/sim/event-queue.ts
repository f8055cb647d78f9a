/**
 * The simulator's agenda: events ordered by virtual time, ties broken by the
 * order they were scheduled, so a run depends on nothing but its seed.
 */
export interface EventQueue<T> {
  schedule(time: number, event: T): void;
  /** The earliest event, or undefined when the agenda is empty. */
  pop(): { time: number; event: T } | undefined;
  peekTime(): number | undefined;
  size(): number;
}

interface Slot<T> {
  readonly time: number;
  readonly sequence: number;
  readonly event: T;
}

export function createEventQueue<T>(): EventQueue<T> {
  const heap: Slot<T>[] = [];
  let sequence = 0;
  const before = (a: Slot<T>, b: Slot<T>): boolean =>
    a.time < b.time || (a.time === b.time && a.sequence < b.sequence);
  const swap = (i: number, j: number): void => {
    const held = heap[i]!;
    heap[i] = heap[j]!;
    heap[j] = held;
  };
  const siftUp = (start: number): void => {
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) return;
      swap(i, parent);
      i = parent;
    }
  };
  const siftDown = (start: number): void => {
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) return;
      swap(i, smallest);
      i = smallest;
    }
  };
  return {
    schedule(time, event) {
      if (!Number.isFinite(time))
        throw new RangeError(`event time = ${time}, allowed a finite number`);
      heap.push({ time, sequence: sequence++, event });
      siftUp(heap.length - 1);
    },
    pop() {
      const top = heap[0];
      if (top === undefined) return undefined;
      const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        siftDown(0);
      }
      return { time: top.time, event: top.event };
    },
    peekTime: () => heap[0]?.time,
    size: () => heap.length,
  };
}

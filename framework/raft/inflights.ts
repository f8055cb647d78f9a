import { assert } from "./assert.js";

/**
 * The appends sent to one follower and not yet acknowledged, as the last
 * index of each (flow control: the leader stops sending once the window is
 * full, etcd's tracker.Inflights). A fixed ring, allocated once.
 */
export class Inflights {
  private readonly indexes: number[];
  private start = 0;
  private countValue = 0;

  constructor(readonly capacity: number) {
    assert(capacity > 0, () => `inflights capacity = ${capacity}, allowed ≥ 1`);
    this.indexes = new Array<number>(capacity).fill(0);
  }

  get count(): number {
    return this.countValue;
  }

  full(): boolean {
    return this.countValue === this.capacity;
  }

  /** Records an append whose last entry is `index`; indexes must increase. */
  add(index: number): void {
    assert(!this.full(), () => `inflights add ${index} to a full window of ${this.capacity}`);
    if (this.countValue > 0) {
      const last = this.indexes[(this.start + this.countValue - 1) % this.capacity]!;
      assert(index > last, () => `inflights add ${index}, allowed > last ${last}`);
    }
    this.indexes[(this.start + this.countValue) % this.capacity] = index;
    this.countValue++;
  }

  /** Frees every append whose last index is ≤ `index` (acknowledged). */
  freeLE(index: number): void {
    while (this.countValue > 0 && this.indexes[this.start]! <= index) {
      this.start = (this.start + 1) % this.capacity;
      this.countValue--;
    }
    if (this.countValue === 0) this.start = 0;
  }

  freeFirstOne(): void {
    if (this.countValue === 0) return;
    this.freeLE(this.indexes[this.start]!);
  }

  reset(): void {
    this.start = 0;
    this.countValue = 0;
  }
}

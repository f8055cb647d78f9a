import { EntryType } from "../raft/index.js";
import { assert } from "./assert.js";

/** Fields per entry, in this order, in one Float64Array. */
const termField = 0;
const typeField = 1;
const segmentField = 2;
const positionField = 3;
const lengthField = 4;
const commitNumberField = 5;
const cacheBatchField = 6;
const cacheSlotField = 7;
const stride = 8;

/** Term of an entry replay knows exists but has not read yet (see replay.ts). */
export const unknownTerm = -1;

/** Rows per page: a power of two (a row's page is a shift away). */
const pageShift = 5;
const pageRows = 1 << pageShift;
const pageFields = pageRows * stride;
/** Pages per slab: one ArrayBuffer of 512 KiB holds 256 pages. */
const slabPages = 256;

/**
 * Hands out pages as views into large slabs, and takes them back when a
 * group's log is truncated, compacted or cleared. Why slabs: a page per
 * Float64Array of its own made one ArrayBuffer per 32 entries, and V8's
 * tracking of that many buffers (external memory, sweeping) cost more than
 * it saved; pages as plain arrays lived on the young heap and were copied by
 * every scavenge. Slab memory is kept for reuse, never given back: a host's
 * peak of live entries bounds it (64 bytes per entry).
 * @internal
 */
export class PagePool {
  private readonly free: Float64Array[] = [];

  acquire(): Float64Array {
    const page = this.free.pop();
    if (page !== undefined) return page;
    const slab = new Float64Array(slabPages * pageFields);
    for (let i = slabPages - 1; i > 0; i--) {
      this.free.push(slab.subarray(i * pageFields, (i + 1) * pageFields));
    }
    return slab.subarray(0, pageFields);
  }

  release(page: Float64Array): void {
    assert(page.length === pageFields, () => `page of ${page.length} fields`);
    this.free.push(page);
  }

  get freePages(): number {
    return this.free.length;
  }
}

/** The pool every EntryLocations uses (pages are interchangeable between stores). */
export const sharedPagePool = new PagePool();

/**
 * Where a group's live entries are, one row per entry, as columns in pages of
 * Float64Array instead of an object per entry: a save of 1,024 groups adds
 * 1,024 rows and no object the garbage collector has to trace, copy or
 * promote (a CPU profile of that save put the per-entry objects and the GC
 * they caused at more than half of its time). Pages of fixed size from a
 * PagePool, not one array that doubles: growing by copying cost more than the
 * objects did.
 * Every field is an integer below 2^53, exact in a double.
 *
 * Row i is the entry at index offsetIndex + 1 + i of its GroupLog. The data
 * itself is in the EntryCache (batch, slot) while cached, and always in the
 * segment at (segment, position, length).
 * @internal
 */
export class EntryLocations {
  private pages: Float64Array[] = [];
  /** Row 0 is this row of the first page (a compaction moves it on). */
  private head = 0;
  /** Number of live rows. */
  length = 0;

  constructor(private readonly pool: PagePool = sharedPagePool) {}

  term(row: number): number {
    return this.field(row, termField);
  }
  type(row: number): EntryType {
    // Only the two types are ever pushed (checked by checkUpdateShape and replay).
    return this.field(row, typeField) === EntryType.ConfChange
      ? EntryType.ConfChange
      : EntryType.Normal;
  }
  segment(row: number): number {
    return this.field(row, segmentField);
  }
  position(row: number): number {
    return this.field(row, positionField);
  }
  byteLength(row: number): number {
    return this.field(row, lengthField);
  }
  commitNumber(row: number): number {
    return this.field(row, commitNumberField);
  }
  cacheBatch(row: number): number {
    return this.field(row, cacheBatchField);
  }
  cacheSlot(row: number): number {
    return this.field(row, cacheSlotField);
  }

  /** Appends a row (the next index). */
  push(
    term: number,
    type: EntryType,
    segment: number,
    position: number,
    byteLength: number,
    commitNumber: number,
    cacheBatch: number,
    cacheSlot: number,
  ): void {
    const at = this.head + this.length;
    const pageIndex = at >> pageShift;
    if (pageIndex === this.pages.length) this.pages.push(this.pool.acquire());
    const page = this.pages[pageIndex]!;
    const base = (at & (pageRows - 1)) * stride;
    page[base + termField] = term;
    page[base + typeField] = type;
    page[base + segmentField] = segment;
    page[base + positionField] = position;
    page[base + lengthField] = byteLength;
    page[base + commitNumberField] = commitNumber;
    page[base + cacheBatchField] = cacheBatch;
    page[base + cacheSlotField] = cacheSlot;
    this.length++;
  }

  /** Appends `count` rows of entries not read yet (term `unknownTerm`). */
  pushUnknown(count: number): void {
    for (let i = 0; i < count; i++) this.push(unknownTerm, 0, -1, -1, 0, 0, -1, -1);
  }

  /** Keeps the first `length` rows. */
  truncate(length: number): void {
    assert(length >= 0 && length <= this.length, () => `truncate to ${length} of ${this.length}`);
    this.length = length;
    if (length === 0) {
      this.clear();
      return;
    }
    const pagesUsed = (this.head + length + pageRows - 1) >> pageShift;
    while (this.pages.length > pagesUsed) this.pool.release(this.pages.pop()!);
  }

  /** Drops the first `count` rows (a compaction). */
  dropFront(count: number): void {
    assert(count >= 0 && count <= this.length, () => `drop ${count} of ${this.length}`);
    this.head += count;
    this.length -= count;
    const pagesDropped = this.head >> pageShift;
    if (this.length === 0) {
      this.clear();
      return;
    }
    if (pagesDropped > 0) {
      for (const page of this.pages.splice(0, pagesDropped)) this.pool.release(page);
      this.head -= pagesDropped * pageRows;
    }
  }

  clear(): void {
    for (const page of this.pages) this.pool.release(page);
    this.pages = [];
    this.head = 0;
    this.length = 0;
  }

  private field(row: number, field: number): number {
    if (!(row >= 0 && row < this.length)) {
      assert(false, `entry row ${row}, allowed 0..${this.length - 1}`);
    }
    const at = this.head + row;
    return this.pages[at >> pageShift]![(at & (pageRows - 1)) * stride + field]!;
  }
}

import type { DecodeTarget } from "./insert-wire.js";

/**
 * Reused memory for the double columns of the inserts a stream's leader
 * buffer holds (insert-buffer.ts): the Insert route decodes each request's
 * timestamps and double columns into rows reserved here instead of fresh
 * Float64Arrays (a fresh backing store outside V8's heap per column and
 * insert: ~64 bytes per event of external memory, the kind that drives the
 * leader's major GCs), and the buffer releases the rows once the insert's
 * events were copied into a proposal or the insert was refused.
 *
 * One lane (a Float64Array) per kept column, all with the same rows; an
 * insert takes the same `count` rows in every lane, reserved in arrival
 * order around a ring. Consecutive inserts therefore sit back to back in
 * each lane, and the leader's merge (columnar-events.ts's mergeSorted)
 * reads a batch of them as one view, without gathering them first. Rows
 * are free again once every insert reserved before them was released too
 * (a released insert behind an unreleased one waits); when the ring is
 * full, the arena moves to new lanes twice as large, and the inserts still
 * in the old ones keep them until released.
 */
export interface ColumnLease {
  /** The rows are free for later inserts; the insert's columns must not be read after. Idempotent. */
  release(): void;
}

/** Rows reserved for one insert: where its decode writes (DecodeTarget) and their lease. */
export interface ReservedRows extends DecodeTarget {
  readonly lease: ColumnLease;
}

export interface ColumnArenaOptions {
  /** Rows of the first lanes (default 65,536: 512 KiB per lane). */
  readonly initialRows?: number;
  /** Lanes larger than this are dropped when nothing is reserved in them (default 524,288 rows: 4 MiB per lane). */
  readonly maxIdleRows?: number;
}

interface Reservation {
  readonly start: number;
  readonly end: number;
  released: boolean;
}

export class ColumnArena {
  private readonly columnNames: ReadonlySet<string>;
  private readonly initialRows: number;
  private readonly maxIdleRows: number;
  /** Lanes by column name; the timestamps' lane is `timestamps`. Replaced (not reused) when they grow. */
  private timestamps: Float64Array;
  private columns = new Map<string, Float64Array>();
  private rows: number;
  /** Reservations in the current lanes, oldest first (released ones leave from the front). */
  private live: Reservation[] = [];
  private liveFront = 0;
  /** Bumped when the lanes are replaced: a release of a reservation in older lanes frees nothing here. */
  private generation = 0;
  private reserved = 0;

  /** `columns`: the names of the stream's columns kept here (its double and int64 fields). */
  constructor(columns: Iterable<string>, options: ColumnArenaOptions = {}) {
    this.columnNames = new Set(columns);
    this.initialRows = options.initialRows ?? 65_536;
    this.maxIdleRows = options.maxIdleRows ?? 524_288;
    if (!(Number.isSafeInteger(this.initialRows) && this.initialRows >= 1)) {
      throw new RangeError(`column arena: initialRows = ${this.initialRows}, allowed an integer >= 1`);
    }
    this.rows = 0;
    this.timestamps = new Float64Array(0);
  }

  /** Rows reserved now and not yet released, in these lanes and older ones. */
  reservedRows(): number {
    return this.reserved;
  }

  /** Rows in each lane now (0 before the first reservation and after idle lanes were dropped). */
  laneRows(): number {
    return this.rows;
  }

  /** Whether `column` is one of the columns kept here. */
  keeps(column: string): boolean {
    return this.columnNames.has(column);
  }

  /** `count` (>= 1) rows in every lane, in arrival order. */
  reserve(count: number): ReservedRows {
    if (!(Number.isSafeInteger(count) && count >= 1)) {
      throw new RangeError(`column arena: reserve(${count}), allowed an integer >= 1`);
    }
    const start = this.placeOf(count);
    const reservation: Reservation = { start, end: start + count, released: false };
    this.live.push(reservation);
    this.reserved += count;
    const generation = this.generation;
    const timestamps = this.timestamps.subarray(start, start + count);
    const columns = this.columns;
    const columnNames = this.columnNames;
    const rows = this.rows;
    const lease: ColumnLease = {
      release: () => {
        if (reservation.released) return;
        reservation.released = true;
        this.reserved -= count;
        if (generation === this.generation) this.collect();
      },
    };
    return {
      timestamps,
      lease,
      column: (name: string): Float64Array | undefined => {
        if (!columnNames.has(name)) return undefined;
        let lane = columns.get(name);
        if (lane === undefined) {
          lane = new Float64Array(rows);
          columns.set(name, lane);
        }
        return lane.subarray(start, start + count);
      },
    };
  }

  /** Where `count` rows go: after the newest reservation, at the ring's start, or in new lanes. */
  private placeOf(count: number): number {
    if (this.liveFront === this.live.length) {
      this.live = [];
      this.liveFront = 0;
      if (count <= this.rows) return 0;
      this.replaceLanes(count);
      return 0;
    }
    const oldest = this.live[this.liveFront]!.start;
    const next = this.live[this.live.length - 1]!.end;
    if (next > oldest) {
      // Not wrapped: free after the newest, and before the oldest.
      if (next + count <= this.rows) return next;
      if (count <= oldest) return 0;
    } else if (next + count <= oldest) {
      return next;
    }
    this.replaceLanes(count);
    return 0;
  }

  /** New lanes (the old ones stay with the reservations in them); nothing is live in the new ones yet. */
  private replaceLanes(count: number): void {
    this.rows = Math.max(this.initialRows, 2 * this.rows, 2 * count);
    this.timestamps = new Float64Array(this.rows);
    this.columns = new Map();
    this.live = [];
    this.liveFront = 0;
    this.generation += 1;
  }

  /** Frees released reservations from the front; idle lanes past maxIdleRows are dropped. */
  private collect(): void {
    while (this.liveFront < this.live.length && this.live[this.liveFront]!.released) this.liveFront += 1;
    if (this.liveFront < this.live.length) {
      if (this.liveFront > 1024) {
        this.live = this.live.slice(this.liveFront);
        this.liveFront = 0;
      }
      return;
    }
    this.live = [];
    this.liveFront = 0;
    if (this.rows > this.maxIdleRows) {
      this.rows = 0;
      this.timestamps = new Float64Array(0);
      this.columns = new Map();
      this.generation += 1;
    }
  }
}

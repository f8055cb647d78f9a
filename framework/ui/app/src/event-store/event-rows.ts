// Columnar events → rows for a table; timestamps (µs since the epoch) → text. Pure.
import type { Events } from "../../gen/eventstore/v1/eventstore_pb.js";

export interface EventTable {
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<{
    readonly timestampMicros: number;
    readonly id: string;
    readonly values: readonly string[];
  }>;
}

export function eventTableOf(events: Events | undefined): EventTable {
  if (events === undefined) return { columns: [], rows: [] };
  const count = events.timestamps.length;
  for (const column of events.columns) {
    const length = column.values.value?.values.length ?? 0;
    if (length !== count)
      throw new Error(`column "${column.name}" has ${length} values for ${count} timestamps`);
  }
  const rows = Array.from({ length: count }, (_, index) => ({
    timestampMicros: Number(events.timestamps[index]),
    id: events.ids[index] ?? "",
    values: events.columns.map((column) => String(column.values.value?.values[index] ?? "")),
  }));
  return { columns: events.columns.map((column) => column.name), rows };
}

/** "2026-11-24 00:10:05.123456" (UTC). */
export function formatMicros(micros: number | bigint): string {
  const value = BigInt(micros);
  const millis = Number(value / 1000n);
  const fraction = String(((value % 1_000_000n) + 1_000_000n) % 1_000_000n).padStart(6, "0");
  const iso = new Date(millis).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${fraction}`;
}

/**
 * A form's time: "" → undefined; an integer → µs as written; otherwise a
 * date-time read as UTC ("2026-11-24T00:10", "2026-11-24 00:10:05"). Throws naming the input.
 */
export function parseTimeInput(text: string, what: string): bigint | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  if (/^-?\d+$/.test(trimmed)) return BigInt(trimmed);
  const normalized = trimmed.replace(" ", "T");
  const millis = Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(normalized) ? normalized : `${normalized}Z`);
  if (Number.isNaN(millis)) {
    throw new Error(
      `${what}: "${text}", allowed µs since the epoch or a UTC date-time like 2026-11-24T00:10:00`,
    );
  }
  return BigInt(millis) * 1000n;
}

/** An aggregate for reading: at most 6 decimals (102.96666666666667 → 102.966667). */
export function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(6)));
}

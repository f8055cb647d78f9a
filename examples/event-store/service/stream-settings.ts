import {
  StateMachineError,
  StateMachineErrorCode,
} from "../../../framework/statemachine/index.js";
import type { EventStore, InsertOperation, StreamSchema } from "../engine/index.js";
import type { BufferOptions } from "../gen/eventstore/v1/eventstore_pb.js";

/**
 * Per-stream settings chosen at creation: the leader buffer's limits and the
 * id deduplication window. Replicated (every leader must use the same), so
 * they live in the store itself, in the hidden stream `_streams`: one row per
 * created stream, written in the same batch as the stream.
 */
export interface StreamSettings {
  /** Flush when this many events are buffered. */
  readonly flushEvents: number;
  /** Flush when the oldest buffered insert waited this long. */
  readonly flushDelayMs: number;
  /** Callers wait while this many events are buffered or being proposed. */
  readonly maxPendingEvents: number;
  /** Ids are duplicates while held by an event at most this far behind the newest. */
  readonly dedupWindowMs: number;
}

export const defaultStreamSettings: StreamSettings = {
  flushEvents: 65_536,
  flushDelayMs: 5,
  maxPendingEvents: 4 * 65_536,
  dedupWindowMs: 60_000,
};

export const SETTINGS_STREAM = "_streams";

export const settingsSchema: StreamSchema = {
  fields: [
    { name: "stream", type: "string" },
    { name: "flushEvents", type: "int64" },
    { name: "flushDelayMs", type: "int64" },
    { name: "maxPendingEvents", type: "int64" },
    { name: "dedupWindowMs", type: "int64" },
  ],
};

function checkLimit(name: string, value: number, low: number, high: number): number {
  if (!Number.isInteger(value) || value < low || value > high) {
    throw new StateMachineError(StateMachineErrorCode.InvalidArgument,
      `${name} = ${value}, allowed ${low} … ${high} (0: the default)`);
  }
  return value;
}

/** Settings of a create request: 0 means the default; out-of-range values are refused. */
export function resolveStreamSettings(buffer: BufferOptions | undefined,
  dedupWindowMs: number): StreamSettings {
  const pick = (value: number | undefined, fallback: number): number =>
    value === undefined || value === 0 ? fallback : value;
  const flushEvents = checkLimit("buffer.flushEvents",
    pick(buffer?.flushEvents, defaultStreamSettings.flushEvents), 1, 1 << 20);
  const flushDelayMs = checkLimit("buffer.flushDelayMs",
    pick(buffer?.flushDelayMs, defaultStreamSettings.flushDelayMs), 1, 60_000);
  const maxPendingEvents = checkLimit("buffer.maxPendingEvents",
    pick(buffer?.maxPendingEvents, 4 * flushEvents), flushEvents, 1 << 24);
  return {
    flushEvents,
    flushDelayMs,
    maxPendingEvents,
    dedupWindowMs: checkLimit("dedupWindowMs", pick(dedupWindowMs, defaultStreamSettings.dedupWindowMs),
      1, 7 * 24 * 3_600_000),
  };
}

/** The `_streams` row of a stream; its timestamp is the raft index (increasing, deterministic). */
export function settingsRow(stream: string, settings: StreamSettings, index: number): InsertOperation {
  return {
    kind: "insert",
    stream: SETTINGS_STREAM,
    timestamps: [index],
    columns: {
      stream: [stream],
      flushEvents: [settings.flushEvents],
      flushDelayMs: [settings.flushDelayMs],
      maxPendingEvents: [settings.maxPendingEvents],
      dedupWindowMs: [settings.dedupWindowMs],
    },
  };
}

/** Every stream's settings, read back from `_streams`. */
export function readStreamSettings(store: EventStore): Map<string, StreamSettings> {
  const settings = new Map<string, StreamSettings>();
  if (!store.streamNames().includes(SETTINGS_STREAM)) return settings;
  let cursor: { timestamp: number; tieIndex: number } | undefined;
  do {
    const page = store.scan(SETTINGS_STREAM, { limit: 10_000, ...(cursor === undefined ? {} : { cursor }) });
    const column = (name: string): ArrayLike<unknown> => page.columns[name] ?? [];
    for (let row = 0; row < page.count; row++) {
      settings.set(String(column("stream")[row]), {
        flushEvents: Number(column("flushEvents")[row]),
        flushDelayMs: Number(column("flushDelayMs")[row]),
        maxPendingEvents: Number(column("maxPendingEvents")[row]),
        dedupWindowMs: Number(column("dedupWindowMs")[row]),
      });
    }
    cursor = page.next;
  } while (cursor !== undefined);
  return settings;
}

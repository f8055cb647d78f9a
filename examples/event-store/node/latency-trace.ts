import { appendFileSync, readlinkSync } from "node:fs";
import { basename, join } from "node:path";
import { appendFile, open } from "node:fs/promises";
import { PerformanceObserver } from "node:perf_hooks";
import type { CommittedCommand, StateMachine } from "../../../framework/statemachine/index.js";

/**
 * One record of a latency trace (a JSON array per line), times in ms of the
 * wall clock (performance.timeOrigin + performance.now(): one clock for every
 * process of the box, so the client's and the nodes' records line up):
 * - ["gc", start, durationMs, kind]: a garbage collection (kind: perf_hooks' constants, 1 minor = scavenge,
 *   4 major = mark-compact, 8 incremental marking, 16 weak callbacks; flags: NODE_PERFORMANCE_GC_FLAGS_*, e.g.
 *   32 all external memory, 64 scheduled on idle);
 * - ["lag", start, durationMs, cpuMs]: the event loop did not run a 2 ms timer for durationMs; cpuMs is the
 *   process's CPU in that gap (close to the gap: a long task or GC; far below: waiting for a core or the disk);
 * - ["ins", key, events, received, buffered, answered]: an insert on the leader (key: its first event's timestamp);
 * - ["ack", key, due, sent, acked]: an insert as its client saw it;
 * - ["prep", groupId, at]: the leader's proposal of a flush, as it enters the log;
 * - ["apply", groupId, firstIndex, lastIndex, commands, start, end]: a state machine's apply;
 * - ["io", op, start, durationMs, bytes, file]: a file handle's writev/write/datasync/sync (raft log, snapshots,
 *   engine; file: the parent directory's and the file's name), from the call to its promise settling: the
 *   thread pool's queue included.
 */
export type TraceRecord =
  | readonly ["gc", number, number, number, number]
  | readonly ["lag", number, number, number]
  | readonly ["ins", number, number, number, number, number]
  | readonly ["ack", number, number, number, number]
  | readonly ["prep", number, number]
  | readonly ["apply", number, number, number, number, number, number]
  | readonly ["io", string, number, number, number, string];

export interface LatencyTrace {
  /** The trace's clock (wall ms). */
  now(): number;
  insert(key: number, events: number, receivedMs: number, bufferedMs: number, answeredMs: number): void;
  /** A client's insert: when it was due, sent and acknowledged. */
  ack(key: number, dueMs: number, sentMs: number, ackMs: number): void;
  /** The machine with its applies and proposals recorded; `machine` itself when tracing is off. */
  traced<Machine extends StateMachine>(groupId: number, machine: Machine): Machine;
  /**
   * Times every FileHandle's writes and syncs in this process until stop()
   * (the raft log's store opens its files itself, so a wrapper cannot reach
   * them): node's FileHandle prototype methods are replaced by timed ones
   * and put back by stop(). Only for a process being traced.
   */
  traceFileHandles(): Promise<void>;
  /** Ends sampling and writes what is left (synchronously: a process about to exit). */
  stop(): void;
}

export interface LatencyTraceOptions {
  /** The file the records are appended to (JSON lines). */
  readonly path: string;
  /** Wall-clock ms, the same clock in every traced process. */
  readonly now: () => number;
  /** The loop-lag sampler's period (default 2 ms) and the gap beyond the period that is recorded (default 3 ms). */
  readonly lagPeriodMs?: number;
  readonly lagThresholdMs?: number;
}

/**
 * Records what a process did around each insert, for the ack latency's tail
 * (issue #8): its GCs, its event loop's gaps, and on a node the inserts, the
 * proposals and the applies, written every 500 ms to `path`. Started only
 * when asked (EVENTSTORE_TRACE): off, nothing of it runs.
 */
export function startLatencyTrace(options: LatencyTraceOptions): LatencyTrace {
  const { path, now } = options;
  const period = options.lagPeriodMs ?? 2;
  const threshold = options.lagThresholdMs ?? 3;
  let pending: string[] = [];
  const record = (entry: TraceRecord): void => {
    pending.push(JSON.stringify(entry));
  };
  const take = (): string => {
    const text = pending.length === 0 ? "" : `${pending.join("\n")}\n`;
    pending = [];
    return text;
  };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      record(["gc", performance.timeOrigin + entry.startTime, entry.duration, gcKindOf(entry), gcFlagsOf(entry)]);
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  let last = now();
  let lastCpu = process.cpuUsage();
  const sampler = setInterval(() => {
    const at = now();
    const cpu = process.cpuUsage();
    const gap = at - last - period;
    if (gap > threshold) {
      record(["lag", last + period, gap, (cpu.user + cpu.system - lastCpu.user - lastCpu.system) / 1000]);
    }
    last = at;
    lastCpu = cpu;
  }, period);
  sampler.unref();
  const restores: (() => void)[] = [];
  let writing = Promise.resolve();
  const writer = setInterval(() => {
    const text = take();
    if (text !== "") writing = writing.then(() => appendFile(path, text)).catch(() => undefined);
  }, 500);
  writer.unref();
  return {
    now,
    insert(key, events, receivedMs, bufferedMs, answeredMs) {
      record(["ins", key, events, receivedMs, bufferedMs, answeredMs]);
    },
    ack(key, dueMs, sentMs, ackMs) {
      record(["ack", key, dueMs, sentMs, ackMs]);
    },
    traced(groupId, machine) {
      const apply = machine.apply.bind(machine);
      const prepare = machine.prepareProposal?.bind(machine);
      return {
        ...machine,
        async apply(commands: readonly CommittedCommand[]) {
          const start = now();
          const results = await apply(commands);
          record(["apply", groupId, commands[0]?.index ?? 0, commands[commands.length - 1]?.index ?? 0,
            commands.length, start, now()]);
          return results;
        },
        ...(prepare === undefined ? {} : {
          prepareProposal(command: Uint8Array, nowMs: number) {
            record(["prep", groupId, now()]);
            return prepare(command, nowMs);
          },
        }),
      };
    },
    async traceFileHandles() {
      // A file's name by its handle (Linux /proc), looked up once per handle (descriptor numbers are reused).
      const names = new WeakMap<object, string>();
      const nameOf = (handle: { fd: number }): string => {
        let name = names.get(handle);
        if (name === undefined) {
          try {
            const path = readlinkSync(`/proc/self/fd/${handle.fd}`);
            name = `${basename(join(path, ".."))}/${basename(path)}`;
          } catch {
            name = `fd ${handle.fd}`;
          }
          names.set(handle, name);
        }
        return name;
      };
      const probe = await open(process.execPath, "r");
      const prototype: object = Object.getPrototypeOf(probe) as object;
      await probe.close();
      for (const op of ["writev", "write", "datasync", "sync"]) {
        const original: unknown = Reflect.get(prototype, op);
        if (typeof original !== "function") continue;
        const timed = function (this: { fd: number }, ...args: unknown[]): Promise<unknown> {
          const start = now();
          const done = (original as (...callArgs: unknown[]) => Promise<unknown>).apply(this, args);
          const file = nameOf(this);
          void done.then((result) => {
            const bytes = typeof result === "object" && result !== null && "bytesWritten" in result
              ? Number(result.bytesWritten) : 0;
            record(["io", op, start, now() - start, bytes, file]);
          }, () => undefined);
          return done;
        };
        Reflect.set(prototype, op, timed);
        restores.push(() => Reflect.set(prototype, op, original));
      }
    },
    stop() {
      for (const restore of restores.splice(0)) restore();
      clearInterval(sampler);
      clearInterval(writer);
      observer.disconnect();
      const text = take();
      if (text !== "") appendFileSync(path, text);
    },
  };
}

/** The flags of a GC entry (NODE_PERFORMANCE_GC_FLAGS_*; 0 none or unknown). */
function gcFlagsOf(entry: PerformanceEntry): number {
  const detail: unknown = Reflect.get(entry, "detail");
  if (typeof detail !== "object" || detail === null || !("flags" in detail)) return 0;
  return typeof detail.flags === "number" ? detail.flags : 0;
}

/** The kind of a GC entry (perf_hooks' NODE_PERFORMANCE_GC_*: 1 minor, 4 major, 8 incremental, 16 weak callbacks; 0 unknown). */
function gcKindOf(entry: PerformanceEntry): number {
  // Node's GC entries carry { detail: { kind } }; its typings do not declare it on PerformanceEntry.
  const detail: unknown = Reflect.get(entry, "detail");
  if (typeof detail !== "object" || detail === null || !("kind" in detail)) return 0;
  return typeof detail.kind === "number" ? detail.kind : 0;
}

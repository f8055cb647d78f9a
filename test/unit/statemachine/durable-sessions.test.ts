/**
 * Durable states keep the framework's state (sessions + clock) with their
 * data: a restart brings the session table back, so a client's retry after
 * the restart is answered from the cache instead of applying again.
 */
import { describe, expect, it } from "vitest";
import {
  ExecutableKind,
  createClientSession,
  createDeterministicRandom,
  createExecutableStateMachine,
  createExecutorRegistry,
  defineExecutableMessage,
  readCommandResult,
  tsProtoCodec,
} from "../../../framework/statemachine/index.js";
import type { ExecutableState, ExecutableStateMachine } from "../../../framework/statemachine/index.js";
import { AddRequest, CounterValue } from "./counter-kv-messages.js";
import { Add } from "./counter-kv-state-machine.js";
import { chunked, collect, commandEntry, createReplicaLog } from "./replica-log.js";

/** What survives a restart: written only by persist, in one step (the "disk"). */
interface Disk {
  record: { appliedIndex: number; counters: [string, number][]; framework: Uint8Array } | undefined;
  persists: number;
}

/** A counter whose data lives on `disk`; `applies` counts executor runs across restarts. */
function openDurableCounter(disk: Disk, applies: { count: number }): ExecutableStateMachine {
  const counters = new Map<string, number>();
  const state: ExecutableState = {
    async open() {
      if (disk.record === undefined) return 0;
      for (const [name, value] of disk.record.counters) counters.set(name, value);
      return { appliedIndex: disk.record.appliedIndex, frameworkState: disk.record.framework };
    },
    async persist(appliedIndex, frameworkState) {
      disk.persists += 1;
      disk.record = { appliedIndex, counters: [...counters], framework: frameworkState.slice() };
    },
    saveSnapshot: () => chunked(new TextEncoder().encode(JSON.stringify([...counters])), 3),
    async restoreSnapshot(_index, chunks) {
      const parsed: [string, number][] = JSON.parse(new TextDecoder().decode(await collect(chunks)));
      counters.clear();
      for (const [name, value] of parsed) counters.set(name, value);
    },
    close: async () => undefined,
  };
  const registry = createExecutorRegistry();
  registry.registerCommand(Add, (request) => {
    applies.count += 1;
    const value = (counters.get(request.name) ?? 0) + request.delta;
    counters.set(request.name, value);
    return { value };
  });
  return createExecutableStateMachine({ partitionId: 3, registry, state });
}

describe("durable framework state", () => {
  it("a retry after a restart returns the cached result, not a second apply", async () => {
    const disk: Disk = { record: undefined, persists: 0 };
    const applies = { count: 0 };
    const first = openDurableCounter(disk, applies);
    expect(await first.open()).toBe(0);
    const log = createReplicaLog(first);
    const session = createClientSession(createDeterministicRandom(5, 1, 0));
    const entry = commandEntry(Add, { name: "c", delta: 4 }, session.nextStamp(), 2_000);
    const original = await log.append(entry);
    await log.append(commandEntry(Add, { name: "c", delta: 1 }, undefined, 2_500));
    expect(disk.persists).toBe(2);
    await first.close();

    const second = openDurableCounter(disk, applies);
    expect(await second.open()).toBe(2);
    expect(second.sessionCount()).toBe(1);
    expect(second.clockMs()).toBe(2_500);
    const retried = await createReplicaLog(second).append(entry);
    expect(retried).toEqual(original);
    expect(readCommandResult(Add, retried)).toEqual({ value: 4 });
    expect(applies.count).toBe(2);
    expect(disk.record?.counters).toEqual([["c", 5]]);
  });

  it("persists once per applied batch, with the batch's last index", async () => {
    const disk: Disk = { record: undefined, persists: 0 };
    const machine = openDurableCounter(disk, { count: 0 });
    await machine.open();
    const entries = [1, 2, 3].map((delta) => commandEntry(Add, { name: "c", delta }, undefined));
    await createReplicaLog(machine).appendAll(entries);
    expect(disk.persists).toBe(1);
    expect(disk.record?.appliedIndex).toBe(3);
  });

  it("a snapshot restore persists the restored sessions and clock", async () => {
    const source = openDurableCounter({ record: undefined, persists: 0 }, { count: 0 });
    await source.open();
    const stamp = { clientId: 77n, sequence: 1, respondedTo: 0 };
    const entry = commandEntry(Add, { name: "c", delta: 9 }, stamp, 4_000);
    const original = await createReplicaLog(source).append(entry);
    const snapshot = await collect(source.saveSnapshot());

    const disk: Disk = { record: undefined, persists: 0 };
    const applies = { count: 0 };
    const target = openDurableCounter(disk, applies);
    await target.open();
    await target.restoreSnapshot(1, chunked(snapshot, 5));
    expect(disk.record?.appliedIndex).toBe(1);
    const restarted = openDurableCounter(disk, applies);
    expect(await restarted.open()).toBe(1);
    expect(restarted.clockMs()).toBe(4_000);
    expect(await createReplicaLog(restarted).append(entry)).toEqual(original);
    expect(applies.count).toBe(0);
  });

  it("damaged framework bytes fail open, naming what was found", async () => {
    const disk: Disk = {
      record: { appliedIndex: 4, counters: [], framework: new Uint8Array([1, 2, 3, 4, 5]) },
      persists: 0,
    };
    await expect(openDurableCounter(disk, { count: 0 }).open()).rejects.toThrow(/expected "RKSM"/);
  });

  it("a state that returns a plain index still opens (sessions start empty)", async () => {
    const registry = createExecutorRegistry();
    registry.registerCommand(Add, () => ({ value: 1 }));
    const state: ExecutableState = {
      open: async () => 12,
      saveSnapshot: () => chunked(new Uint8Array(0), 1),
      restoreSnapshot: async () => undefined,
      close: async () => undefined,
    };
    const machine = createExecutableStateMachine({ partitionId: 1, registry, state });
    expect(await machine.open()).toBe(12);
    expect(machine.sessionCount()).toBe(0);
  });
});

describe("durable framework state: incremental encoding", () => {
  it("equals a full encoding of the table after every batch (opens, acks, evictions, expiry, restore)", async () => {
    const disk: Disk = { record: undefined, persists: 0 };
    const registry = createExecutorRegistry();
    let total = 0;
    registry.registerCommand(Add, (request) => ({ value: (total += request.delta) }));
    let userBytes = new Uint8Array(0);
    const state: ExecutableState = {
      open: async () => 0,
      persist: async (appliedIndex, frameworkState) => {
        disk.record = { appliedIndex, counters: [], framework: frameworkState.slice() };
      },
      saveSnapshot: () => chunked(userBytes, 4),
      restoreSnapshot: async () => undefined,
      close: async () => undefined,
    };
    const limits = { maxSessions: 6, sessionTimeoutMs: 5_000, maxResultsPerSession: 4 };
    const machine = createExecutableStateMachine({ partitionId: 2, registry, state, limits });
    await machine.open();
    const random = createDeterministicRandom(17, 3, 0);
    const sequences = new Map<bigint, { next: number; acked: number }>();
    let index = 0;
    let clock = 1_000;
    let largest = 0;
    for (let batch = 0; batch < 120; batch++) {
      const entries = Array.from({ length: 1 + random.nextInt(4) }, () => {
        clock += random.nextInt(3) === 0 ? 2_000 : 10;
        // New client ids every 30 batches: expired clients (acks > 0) are never reopened.
        const clientId = BigInt(1 + random.nextInt(9) + 100 * Math.floor(batch / 30));
        const known = sequences.get(clientId) ?? { next: 1, acked: 0 };
        sequences.set(clientId, known);
        if (random.nextInt(3) === 0 && known.acked < known.next - 1) known.acked += 1;
        const stamp = { clientId, sequence: known.next++, respondedTo: known.acked };
        return commandEntry(Add, { name: "t", delta: 1 }, stamp, clock);
      });
      await machine.apply(entries.map((data) => ({ index: ++index, term: 1, data })));
      userBytes = new TextEncoder().encode(`user state at ${index}`);
      const snapshot = await collect(machine.saveSnapshot());
      const persisted = disk.record!.framework;
      expect(disk.record!.appliedIndex).toBe(index);
      expect(snapshot.subarray(0, persisted.length)).toEqual(persisted);
      expect(snapshot.subarray(persisted.length)).toEqual(userBytes);
      if (batch === 60) await machine.restoreSnapshot(index, chunked(snapshot, 7));
      largest = Math.max(largest, machine.sessionCount());
    }
    expect(largest).toBe(limits.maxSessions); // evictions happened
  });
});

describe("defineExecutableMessage: stateMachine", () => {
  const base = {
    typeName: "counter.v1.CounterService/Add",
    kind: ExecutableKind.Command,
    request: tsProtoCodec(AddRequest),
    response: tsProtoCodec(CounterValue),
  };

  it("keeps the state machine type a client routes keys by", () => {
    expect(defineExecutableMessage({ ...base, stateMachine: "counter" }).stateMachine).toBe("counter");
    expect(defineExecutableMessage(base).stateMachine).toBeUndefined();
  });

  it("refuses an empty state machine type name", () => {
    expect(() => defineExecutableMessage({ ...base, stateMachine: " " })).toThrow(
      /stateMachine " ", allowed a non-empty state machine type name/,
    );
  });
});

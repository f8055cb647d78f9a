import type {
  ConfState,
  Entry,
  HardState,
  MemoryStorage,
  RaftStorage,
  SnapshotMetadata,
} from "../../../framework/raft/index.js";
import { createMemoryStorage } from "../../../framework/raft/index.js";
import type { LogView } from "../safety-checker.js";
import { durableLog } from "../sim-node.js";
import type { RegisterState } from "./register-machine.js";
import { HostError, HostErrorCode } from "../../../framework/host/index.js";
import type {
  GroupUpdate,
  HostLogStore,
  HostSnapshotStore,
} from "../../../framework/host/index.js";

/**
 * A node's simulated disk: what survives a crash. Logs are the raft core's
 * MemoryStorage per group; snapshot files are complete snapshots per group
 * (the newest `keepSnapshots`, as framework/storage's SnapshotStore keeps).
 */
export interface SimDisk {
  readonly nodeId: number;
  readonly logs: Map<number, MemoryStorage>;
  readonly snapshots: Map<number, StoredSnapshot[]>;
  readonly keepSnapshots: number;
  /** State of durable state machines, per group (see register-machine.ts). */
  readonly machines: Map<number, RegisterState>;
}

export interface StoredSnapshot {
  readonly metadata: SnapshotMetadata;
  readonly chunks: readonly Uint8Array[];
}

/** What the disk tells the simulator as writes become durable. */
export interface DiskObserver {
  onEntriesDurable(groupId: number, entries: readonly Entry[], log: LogView): void;
  onHardStateDurable(groupId: number, previous: HardState, next: HardState, log: LogView): void;
  onSnapshotFileDurable(groupId: number, metadata: SnapshotMetadata): void;
}

/** How the disk of one incarnation reaches virtual time. */
export interface DiskEnvironment {
  now(): number;
  at(time: number, run: () => void, label?: string): void;
  /** Latency of the next fsync in virtual milliseconds. */
  fsyncLatency(): number;
  readonly observer: DiskObserver;
  /**
   * A broken disk, to show the checks catch one: writes are acknowledged when
   * issued, though they still become durable only at the fsync.
   */
  readonly acknowledgeBeforeSync?: boolean;
}

/** The stores one NodeHost incarnation sees; `crash` loses every write not yet synced. */
export interface DiskHandle {
  readonly logStore: HostLogStore;
  readonly snapshotStore: HostSnapshotStore;
  /** Marks the incarnation dead; returns how many writes in flight were lost. */
  crash(): number;
  /** Writes in flight (issued, not yet synced). */
  pending(): number;
}

export function createSimDisk(nodeId: number, keepSnapshots = 2): SimDisk {
  if (!(Number.isSafeInteger(keepSnapshots) && keepSnapshots >= 1)) {
    throw new RangeError(`keepSnapshots = ${keepSnapshots}, allowed an integer ≥ 1`);
  }
  return { nodeId, logs: new Map(), snapshots: new Map(), keepSnapshots, machines: new Map() };
}

/**
 * Opens the disk for one incarnation. Every write is queued and becomes
 * durable (applied to the disk, its promise resolved) at a simulated fsync,
 * in issue order; a crash before that loses it and its promise never
 * settles. Reads see only what is durable.
 */
export function openDisk(disk: SimDisk, env: DiskEnvironment): DiskHandle {
  let dead = false;
  let pending = 0;
  let lastSync = 0;
  /** saveUnsynced's updates not yet part of a write: they go with the next one, or are lost. */
  let gathered: (() => void)[] = [];
  const lying = env.acknowledgeBeforeSync === true ? createRollback(disk) : undefined;
  const gather: Gather = (apply) => {
    if (!dead) gathered.push(apply);
  };
  const write = (label: string, own: () => void, groupIds: readonly number[]): Promise<void> => {
    if (dead) return new Promise<void>(() => {}); // the process is gone
    const before = gathered;
    gathered = [];
    const apply = (): void => {
      for (const earlier of before) earlier();
      own();
    };
    pending++;
    lastSync = Math.max(lastSync, env.now() + env.fsyncLatency());
    const synced = (): void => {
      pending--;
      if (pending === 0) lying?.clear();
    };
    if (lying !== undefined) {
      for (const groupId of groupIds) lying.remember(groupId);
      apply();
      env.at(lastSync, () => dead || synced(), `fsync ${disk.nodeId} ${label}`);
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      env.at(
        lastSync,
        () => {
          if (dead) return;
          synced();
          apply();
          resolve();
        },
        `fsync ${disk.nodeId} ${label}`,
      );
    });
  };
  return {
    logStore: createSimLogStore(disk, env.observer, write, gather),
    snapshotStore: createSimSnapshotStore(disk, env.observer, write),
    crash() {
      dead = true;
      const lost = pending + gathered.length;
      pending = 0;
      gathered = [];
      lying?.rollBack();
      return lost;
    },
    pending: () => pending,
  };
}

/** For the lying disk: the logs as they were before the first write not yet synced. */
function createRollback(disk: SimDisk): {
  remember(groupId: number): void;
  clear(): void;
  rollBack(): void;
} {
  const saved = new Map<number, MemoryStorage | undefined>();
  return {
    remember(groupId) {
      if (saved.has(groupId)) return;
      const log = disk.logs.get(groupId);
      saved.set(groupId, log === undefined ? undefined : cloneLog(log));
    },
    clear: () => saved.clear(),
    rollBack() {
      for (const [groupId, log] of saved) {
        if (log === undefined) disk.logs.delete(groupId);
        else disk.logs.set(groupId, log);
      }
      saved.clear();
    },
  };
}

function cloneLog(log: MemoryStorage): MemoryStorage {
  const copy = createMemoryStorage();
  const snapshot = log.snapshot();
  if (snapshot.metadata.index > 0) copy.applySnapshot(snapshot);
  if (log.lastIndex() >= log.firstIndex()) {
    copy.append(log.entries(log.firstIndex(), log.lastIndex() + 1, Number.MAX_SAFE_INTEGER));
  }
  copy.setHardState(log.hardState());
  return copy;
}

type Write = (label: string, apply: () => void, groupIds: readonly number[]) => Promise<void>;
/** Records an update without a write of its own: it is applied with the next write. */
type Gather = (apply: () => void) => void;

function groupLog(disk: SimDisk, groupId: number): MemoryStorage {
  const log = disk.logs.get(groupId);
  if (log === undefined) {
    throw new HostError(
      HostErrorCode.GroupNotFound,
      `group ${groupId} has no log on node ${disk.nodeId}`,
    );
  }
  return log;
}

function createSimLogStore(
  disk: SimDisk,
  observer: DiskObserver,
  write: Write,
  gather: Gather,
): HostLogStore {
  const persist = (update: GroupUpdate): void => {
    const log = groupLog(disk, update.groupId);
    if (update.snapshot !== undefined) log.applySnapshot(update.snapshot);
    if (update.entries.length > 0) {
      log.append(update.entries);
      observer.onEntriesDurable(update.groupId, update.entries, durableLog(log));
    }
    if (update.hardState !== undefined) {
      const previous = log.hardState();
      log.setHardState(update.hardState);
      observer.onHardStateDurable(update.groupId, previous, update.hardState, durableLog(log));
    }
  };
  return {
    storage: (groupId: number): RaftStorage => groupLog(disk, groupId),
    async save(updates: readonly GroupUpdate[]): Promise<void> {
      for (const update of updates) groupLog(disk, update.groupId);
      const groups = updates.map((update) => update.groupId).join(",");
      await write(
        `save [${groups}]`,
        () => updates.forEach(persist),
        updates.map((u) => u.groupId),
      );
    },
    saveUnsynced(updates: readonly GroupUpdate[]): void {
      for (const update of updates) groupLog(disk, update.groupId);
      gather(() => updates.forEach(persist));
    },
    async flush(): Promise<void> {
      await write("flush", () => {}, []);
    },
    async recordSnapshot(groupId, metadata, compactIndex): Promise<void> {
      groupLog(disk, groupId);
      await write(
        `record-snapshot g${groupId} i${metadata.index} c${compactIndex}`,
        () => {
          const log = groupLog(disk, groupId);
          if (metadata.index > log.snapshot().metadata.index) {
            log.createSnapshot(metadata.index, metadata.confState, new Uint8Array(0));
          }
          if (compactIndex >= log.firstIndex()) log.compact(compactIndex);
        },
        [groupId],
      );
    },
    async bootstrap(groupId: number, confState: ConfState | undefined): Promise<void> {
      if (disk.logs.has(groupId)) {
        throw new HostError(
          HostErrorCode.GroupExists,
          `group ${groupId} already has a log on node ${disk.nodeId}`,
        );
      }
      await write(
        `bootstrap g${groupId}${confState === undefined ? " join" : ""}`,
        () => {
          if (disk.logs.has(groupId)) {
            throw new Error(`disk ${disk.nodeId}: group ${groupId} bootstrapped twice`);
          }
          const log = createMemoryStorage();
          if (confState !== undefined) {
            log.applySnapshot({
              metadata: { index: 1, term: 1, confState },
              data: new Uint8Array(0),
            });
            log.setHardState({ term: 1, vote: 0, commit: 1 });
          }
          disk.logs.set(groupId, log);
        },
        [groupId],
      );
    },
    groupIds: () => [...disk.logs.keys()],
    async removeGroup(groupId: number): Promise<void> {
      await write(`remove g${groupId}`, () => disk.logs.delete(groupId), [groupId]);
    },
    async close(): Promise<void> {},
  };
}

function createSimSnapshotStore(
  disk: SimDisk,
  observer: DiskObserver,
  write: Write,
): HostSnapshotStore {
  return {
    async save(groupId, metadata, chunks): Promise<void> {
      const collected: Uint8Array[] = [];
      for await (const chunk of chunks) collected.push(chunk.slice());
      // Written to a temporary file, synced, then renamed: visible only once complete.
      await write(
        `snapshot-file g${groupId} i${metadata.index}`,
        () => {
          const list = (disk.snapshots.get(groupId) ?? []).filter(
            (stored) => stored.metadata.index !== metadata.index,
          );
          list.push({ metadata, chunks: collected });
          list.sort((a, b) => a.metadata.index - b.metadata.index);
          // The newest `keepSnapshots`, and always the one the durable log starts from: a
          // newer file the log does not name yet (a leader's snapshot raft refused as stale,
          // a local one whose record a crash lost) must not take the log's base away.
          const base = disk.logs.get(groupId)?.snapshot().metadata.index;
          const kept = list.filter(
            (stored, i) => i >= list.length - disk.keepSnapshots || stored.metadata.index === base,
          );
          disk.snapshots.set(groupId, kept);
          observer.onSnapshotFileDurable(groupId, metadata);
        },
        [],
      );
    },
    open(groupId: number, index: number): AsyncIterable<Uint8Array> {
      const found = disk.snapshots.get(groupId)?.find((stored) => stored.metadata.index === index);
      if (found === undefined) {
        throw new HostError(
          HostErrorCode.SnapshotMissing,
          `group ${groupId} has no snapshot at index ${index} on node ${disk.nodeId}`,
        );
      }
      return (async function* () {
        for (const chunk of found.chunks) yield chunk.slice();
      })();
    },
    async newest(groupId: number): Promise<SnapshotMetadata | undefined> {
      const list = disk.snapshots.get(groupId);
      return list?.[list.length - 1]?.metadata;
    },
    async removeGroup(groupId: number): Promise<void> {
      await write(`remove-snapshots g${groupId}`, () => disk.snapshots.delete(groupId), []);
    },
  };
}

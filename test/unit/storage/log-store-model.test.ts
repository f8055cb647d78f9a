import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  Entry,
  HardState,
  MemoryStorage,
  RaftStorage,
  Snapshot,
} from "../../../framework/raft/index.js";
import { createMemoryStorage, EntryType } from "../../../framework/raft/index.js";
import type { LogStore, LogUpdate } from "../../../framework/storage/index.js";
import { openLogStore } from "../../../framework/storage/index.js";
import { makeTemporaryDirectory } from "./helpers.js";

/**
 * Randomized equivalence with MemoryStorage (STYLE rule 12): the same
 * operations on both, then every observable read compared, including after
 * reopening the store. Small segments and a tiny cache make rolls, segment
 * deletion and reads from disk happen all the time.
 */
type Operation =
  | { kind: "save"; updates: UpdatePlan[] }
  | { kind: "compact"; groupId: number; fraction: number }
  | { kind: "remove"; groupId: number }
  | { kind: "reopen" };

interface UpdatePlan {
  groupId: number;
  /** Where the append starts, relative to lastIndex + 1 (negative: overwrite a suffix). */
  startOffset: number;
  count: number;
  term: number;
  size: number;
  hardState: HardState | undefined;
  /** When set, a snapshot this far beyond the current snapshot's index goes first. */
  snapshotAdvance: number | undefined;
}

const groupIdArbitrary = fc.integer({ min: 1, max: 3 });
const updateArbitrary: fc.Arbitrary<UpdatePlan> = fc.record({
  groupId: groupIdArbitrary,
  startOffset: fc.integer({ min: -4, max: 0 }),
  count: fc.integer({ min: 0, max: 5 }),
  term: fc.integer({ min: 1, max: 6 }),
  size: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 500, max: 1500 })),
  hardState: fc.option(
    fc.record({
      term: fc.nat(20),
      vote: fc.nat(5),
      commit: fc.nat(50),
    }),
    { nil: undefined },
  ),
  snapshotAdvance: fc.option(fc.integer({ min: 1, max: 8 }), { freq: 6, nil: undefined }),
});
const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("save" as const),
      updates: fc.uniqueArray(updateArbitrary, {
        minLength: 1,
        maxLength: 3,
        selector: (u) => u.groupId,
      }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("compact" as const),
      groupId: groupIdArbitrary,
      fraction: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("remove" as const), groupId: groupIdArbitrary }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "reopen" as const }) },
);

let directoryCounter = 0;
let root: { path: string; remove: () => Promise<void> };
beforeAll(async () => {
  root = await makeTemporaryDirectory();
});
afterAll(async () => {
  await root.remove();
});

function entryData(size: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (seed * 31 + i) % 251);
}

function planUpdate(model: MemoryStorage | undefined, plan: UpdatePlan, seed: number): LogUpdate {
  let snapshot: Snapshot | undefined;
  let last = model?.lastIndex() ?? 0;
  if (plan.snapshotAdvance !== undefined) {
    const index = (model?.snapshot().metadata.index ?? 0) + plan.snapshotAdvance;
    const confState = {
      voters: [1, (seed % 4) + 2],
      learners: [],
      votersOutgoing: [],
      learnersNext: [],
      autoLeave: false,
    };
    snapshot = { metadata: { index, term: plan.term, confState }, data: entryData(seed % 7, seed) };
    last = index;
  }
  const start = Math.max(1, last + 1 + plan.startOffset);
  const entries: Entry[] = Array.from({ length: plan.count }, (_, i) => ({
    index: start + i,
    term: plan.term,
    type: (seed + i) % 5 === 0 ? EntryType.ConfChange : EntryType.Normal,
    data: entryData(plan.size, seed + i),
  }));
  return { groupId: plan.groupId, entries, hardState: plan.hardState, snapshot };
}

function applyToModel(models: Map<number, MemoryStorage>, update: LogUpdate): void {
  let model = models.get(update.groupId);
  const empty =
    update.snapshot === undefined &&
    (update.entries ?? []).length === 0 &&
    update.hardState === undefined;
  if (model === undefined && empty) return; // the store does not create a group for nothing
  if (model === undefined) {
    model = createMemoryStorage();
    models.set(update.groupId, model);
  }
  if (update.snapshot !== undefined) model.applySnapshot(update.snapshot);
  model.append(update.entries ?? []);
  if (update.hardState !== undefined) model.setHardState(update.hardState);
}

function observe(storage: RaftStorage): unknown {
  const first = storage.firstIndex();
  const last = storage.lastIndex();
  const terms: number[] = [];
  for (let i = first - 1; i <= last; i++) terms.push(storage.term(i));
  const entries = last >= first ? storage.entries(first, last + 1, Number.MAX_SAFE_INTEGER) : [];
  const limited = last >= first ? storage.entries(first, last + 1, 600).length : 0;
  return {
    first,
    last,
    terms,
    limited,
    entries: entries.map((e) => ({
      index: e.index,
      term: e.term,
      type: e.type,
      data: Array.from(e.data),
    })),
    initialState: storage.initialState(),
    snapshot: { metadata: storage.snapshot().metadata, data: Array.from(storage.snapshot().data) },
  };
}

function compareAll(store: LogStore, models: Map<number, MemoryStorage>): void {
  expect(store.groupIds()).toEqual([...models.keys()].sort((a, b) => a - b));
  for (const [groupId, model] of models) {
    expect(observe(store.storage(groupId))).toEqual(observe(model));
  }
}

async function runOperations(operations: Operation[]): Promise<void> {
  const directory = `${root.path}/run-${++directoryCounter}`;
  const options = { directory, segmentBytes: 4096, cacheBytes: 700 };
  let store = await openLogStore(options);
  const models = new Map<number, MemoryStorage>();
  try {
    let seed = 0;
    for (const operation of operations) {
      seed++;
      if (operation.kind === "save") {
        const updates = operation.updates.map((plan) =>
          planUpdate(models.get(plan.groupId), plan, seed),
        );
        await store.save(updates);
        for (const update of updates) applyToModel(models, update);
      } else if (operation.kind === "compact") {
        const model = models.get(operation.groupId);
        if (model === undefined || model.lastIndex() < model.firstIndex()) continue;
        const span = model.lastIndex() - model.firstIndex();
        const index = model.firstIndex() + Math.floor(operation.fraction * span);
        await store.compact(operation.groupId, index);
        model.compact(index);
      } else if (operation.kind === "remove") {
        if (!models.has(operation.groupId)) continue;
        await store.removeGroup(operation.groupId);
        models.delete(operation.groupId);
      } else {
        await store.close();
        store = await openLogStore(options);
      }
      compareAll(store, models);
    }
    await store.close();
    store = await openLogStore(options);
    compareAll(store, models);
  } finally {
    await store.close();
  }
}

describe("LogStore against MemoryStorage", () => {
  it("matches MemoryStorage under random operations, before and after reopen", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(operationArbitrary, { minLength: 1, maxLength: 60 }),
        runOperations,
      ),
      { numRuns: 80 },
    );
  });
});

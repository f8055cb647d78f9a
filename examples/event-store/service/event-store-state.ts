import type { ApplyContext, ExecutableState, OpenedState } from "../../../framework/statemachine/index.js";
import {
  StateMachineError,
  StateMachineErrorCode,
} from "../../../framework/statemachine/index.js";
import {
  BLOCK_BYTES_DEFAULT,
  createInsertChecker,
  createMemoryFileSystem,
  importEventStore,
  openEventStore,
} from "../engine/index.js";
import type {
  ApplySlices,
  EngineFileSystem,
  EventStore,
  InsertOperation,
  Operation,
  StreamSchema,
} from "../engine/index.js";
import type {
  CreateStreamRequest,
  CreateStreamResponse,
  InsertRequest,
  InsertResponse,
} from "../gen/eventstore/v1/eventstore_pb.js";
import { create } from "@bufbuild/protobuf";
import { CreateStreamResponseSchema, InsertResponseSchema } from "../gen/eventstore/v1/eventstore_pb.js";
import { EVENT_ID_FIELD, toColumnar, wireToColumnar } from "./columnar-events.js";
import type { ColumnarEvents } from "./columnar-events.js";
import type { DedupIndex } from "./dedup-index.js";
import { createDedupIndex, loadDedupIndex } from "./dedup-index.js";
import { columnarFormOf } from "./insert-codec.js";
import { ColumnArena } from "./insert-arena.js";
import type { ColumnLease } from "./insert-arena.js";
import { mapEngineErrors } from "./engine-errors.js";
import type { EventStoreServiceExecutor } from "./executor.js";
import { createQueryExecutors } from "./query-executors.js";
import {
  readStreamSettings,
  resolveStreamSettings,
  SETTINGS_STREAM,
  settingsRow,
  settingsSchema,
} from "./stream-settings.js";
import type { StreamSettings } from "./stream-settings.js";
import { checkUserStreamName, sameSchema, storedSchemaOf, userFieldsOf } from "./stream-schema.js";

export interface EventStoreStateOptions {
  readonly fileSystem: EngineFileSystem;
  /** The partition replica's own directory. */
  readonly directory: string;
  readonly blockBytes?: number;
  /** The engine applies inserts in slices, yielding between them (EventStoreOptions.applySlices). */
  readonly applySlices?: ApplySlices;
}

/** The engine-backed state of one partition replica and the executors working on it. */
export interface EventStoreState extends ExecutableState {
  readonly executor: EventStoreServiceExecutor;
  /** The open store (for tests and status); throws before open. */
  store(): EventStore;
  /**
   * The stream's reused memory for applied inserts' columns (for tests and
   * status): rows reserved by staged operations not yet persisted, and
   * rows per lane (0: none yet, or idle lanes dropped).
   */
  columnMemory(stream: string): { readonly reservedRows: number; readonly laneRows: number };
}

/** What the executors share: the open store and the batch staged since the last persist. */
export interface StateCore {
  store: EventStore | undefined;
  settings: Map<string, StreamSettings>;
  dedup: Map<string, DedupIndex>;
  checkers: Map<string, (operation: InsertOperation) => void>;
  /** Schemas of stored streams, read once each (schemaOf); emptied when the store is (re)opened. */
  schemas: Map<string, StreamSchema>;
  /**
   * Operations of the commands applied since the last persist. Executors
   * stage, `persist` writes them with the applied index and the framework's
   * state in ONE engine batch (one WAL record): data, index and sessions
   * are durable together, whatever the number of commands per entry.
   */
  staged: Operation[];
  /**
   * The column memory the staged operations' decoded columns lie in: released
   * once `persist` (the engine's applyBatch, which copies them into its
   * blocks) settles, then reused by later entries' decodes.
   */
  stagedLeases: ColumnLease[];
  /** Reused memory for the decoded columns of applied inserts, per stream (arenaOf). */
  arenas: Map<string, { readonly schema: StreamSchema; readonly arena: ColumnArena }>;
  /** Streams created by staged operations, with their stored schema. */
  stagedSchemas: Map<string, StreamSchema>;
  readonly blockBytes: number;
}

export function openStore(core: StateCore): EventStore {
  if (core.store === undefined) throw new Error("event store state used before open()");
  return core.store;
}

/**
 * The stream's schema: staged (created in this batch), else stored. Stored
 * schemas are kept in `core.schemas` (a stream's schema never changes and
 * streams are never dropped): `statistics(stream)` walks the stream's
 * blocks, and it ran on every Insert's apply (~80 ns per event of a 4096-event
 * insert on the leader of the service bench, growing with the stream).
 */
export function schemaOf(core: StateCore, stream: string): StreamSchema | undefined {
  const staged = core.stagedSchemas.get(stream);
  if (staged !== undefined) return staged;
  const known = core.schemas.get(stream);
  if (known !== undefined) return known;
  const store = openStore(core);
  if (!store.streamNames().includes(stream)) return undefined;
  const schema = store.statistics(stream).schema;
  core.schemas.set(stream, schema);
  return schema;
}

const microsPerMs = 1000;

function loadIndexes(core: StateCore): void {
  const store = openStore(core);
  core.settings = readStreamSettings(store);
  core.dedup = new Map();
  core.checkers = new Map();
  core.schemas = new Map();
  for (const [stream, settings] of core.settings) {
    core.dedup.set(stream, loadDedupIndex(store, stream, settings.dedupWindowMs * microsPerMs));
  }
}

function createStream(core: StateCore, request: CreateStreamRequest,
  context: ApplyContext): CreateStreamResponse {
  checkUserStreamName(request.stream);
  const schema = storedSchemaOf(request.stream, request.fields);
  const settings = resolveStreamSettings(request.buffer, request.dedupWindowMs);
  const existing = schemaOf(core, request.stream);
  if (existing !== undefined) {
    const held = core.settings.get(request.stream);
    const same = sameSchema(existing, schema) && held !== undefined &&
      JSON.stringify(held) === JSON.stringify(settings);
    if (!same) {
      throw new StateMachineError(StateMachineErrorCode.AlreadyExists,
        `stream '${request.stream}' exists with another schema or settings`);
    }
    return create(CreateStreamResponseSchema, { created: false });
  }
  const createOperation: Operation = { kind: "createStream", stream: request.stream, schema };
  mapEngineErrors(() => openStore(core).checkBatch([createOperation]));
  if (schemaOf(core, SETTINGS_STREAM) === undefined) {
    core.staged.push({ kind: "createStream", stream: SETTINGS_STREAM, schema: settingsSchema });
    core.stagedSchemas.set(SETTINGS_STREAM, settingsSchema);
  }
  core.staged.push(createOperation, settingsRow(request.stream, settings, context.index));
  core.stagedSchemas.set(request.stream, schema);
  core.settings.set(request.stream, settings);
  core.dedup.set(request.stream, createDedupIndex(settings.dedupWindowMs * microsPerMs, undefined));
  return create(CreateStreamResponseSchema, { created: true });
}

function checkerOf(core: StateCore, stream: string, schema: StreamSchema): (operation: InsertOperation) => void {
  let checker = core.checkers.get(stream);
  if (checker === undefined) {
    checker = createInsertChecker(stream, schema, core.blockBytes);
    core.checkers.set(stream, checker);
  }
  return checker;
}

/**
 * Checks an insert and stages it without its duplicates. A large insert
 * (more than `yieldRows` rows) lets the event loop run between its check
 * and each `yieldRows` rows of its dedup pass (context.yieldTurn): the
 * response and what is staged are the same either way.
 */
async function insert(core: StateCore, request: InsertRequest, context: ApplyContext,
  yieldRows: number | undefined): Promise<InsertResponse> {
  const stream = request.stream;
  const schema = stream.startsWith("_") ? undefined : schemaOf(core, stream);
  if (schema === undefined) throw new StateMachineError(StateMachineErrorCode.NotFound, `no stream '${stream}'`);
  // Decoded from a log entry by the hand codec (Float64Arrays, no number per value) into the stream's reused column memory (no fresh arrays per entry on
  // every replica); released after the persist that writes the operation, or below if not staged.
  const arena = arenaOf(core, stream, schema);
  let lease: ColumnLease | undefined;
  try {
    const columnar = columnarFormOf(request, (count) => {
      const rows = arena.reserve(count);
      lease = rows.lease;
      return rows;
    });
    const events = columnar === undefined ? toColumnar(stream, request.events, userFieldsOf(schema))
      : wireToColumnar(stream, columnar.events, userFieldsOf(schema));
    const staged = await checkAndStage(core, stream, schema, events, context, yieldRows);
    if (staged.operation !== undefined && lease !== undefined) {
      core.stagedLeases.push(lease);
      lease = undefined;
    }
    return staged.response;
  } finally {
    lease?.release();
  }
}

/** Staged operations dropped unwritten (a snapshot replaces the state): their column memory is free. */
function releaseStaged(core: StateCore): void {
  for (const lease of core.stagedLeases) lease.release();
  core.stagedLeases = [];
}

/** The stream's reused memory for decoded columns (new memory for a new schema). */
function arenaOf(core: StateCore, stream: string, schema: StreamSchema): ColumnArena {
  const kept = core.arenas.get(stream);
  if (kept !== undefined && kept.schema === schema) return kept.arena;
  const arena = new ColumnArena(userFieldsOf(schema)
    .filter((field) => field.type === "double" || field.type === "int64").map((field) => field.name));
  if (core.arenas.size > 10_000) core.arenas.clear();
  core.arenas.set(stream, { schema, arena });
  return arena;
}

/**
 * The check, the dedup pass and the staging of one insert; `operation`: what
 * was staged when it holds the decoded arrays themselves (no duplicates
 * dropped), undefined when nothing or a copy was staged.
 */
async function checkAndStage(core: StateCore, stream: string, schema: StreamSchema, events: ColumnarEvents,
  context: ApplyContext, yieldRows: number | undefined):
  Promise<{ readonly response: InsertResponse; readonly operation: InsertOperation | undefined }> {
  const operation: InsertOperation = {
    kind: "insert", stream, timestamps: events.timestamps,
    columns: { ...events.columns, [EVENT_ID_FIELD]: events.ids },
  };
  mapEngineErrors(() => checkerOf(core, stream, schema)(operation));
  const dedup = core.dedup.get(stream)!;
  const sliced = yieldRows !== undefined && events.timestamps.length > yieldRows;
  if (sliced) await context.yieldTurn();
  const duplicateRows = sliced
    ? await dedup.filterInSlices(events.timestamps, events.ids, yieldRows, () => context.yieldTurn())
    : dedup.filter(events.timestamps, events.ids);
  const duplicates = duplicateRows.length;
  const accepted = events.timestamps.length - duplicates;
  if (accepted > 0) core.staged.push(duplicates === 0 ? operation : withoutRows(operation, duplicateRows));
  return { response: create(InsertResponseSchema, { accepted, duplicates, duplicateRows }),
    operation: accepted > 0 && duplicates === 0 ? operation : undefined };
}

/** The operation without the rows listed. */
function withoutRows(operation: InsertOperation, drop: readonly number[]): InsertOperation {
  const dropped = new Set(drop);
  const kept: number[] = [];
  for (let row = 0; row < operation.timestamps.length; row++) if (!dropped.has(row)) kept.push(row);
  const columns: Record<string, unknown[]> = {};
  for (const [name, values] of Object.entries(operation.columns)) columns[name] = kept.map((row) => values[row]);
  return { ...operation, timestamps: Float64Array.from(kept, (row) => operation.timestamps[row]!), columns };
}

async function removeStoreFiles(fileSystem: EngineFileSystem, directory: string): Promise<void> {
  await fileSystem.mkdir(directory);
  const names = await fileSystem.readdir(directory);
  // The manifest first: a crash midway leaves files without a manifest, which open() wipes.
  for (const name of [...names].sort((a, b) => (a === "manifest" ? -1 : b === "manifest" ? 1 : 0))) {
    await fileSystem.unlink(`${directory}/${name}`);
  }
  await fileSystem.syncDirectory(directory);
}

async function* emptySnapshot(blockBytes: number): AsyncIterable<Uint8Array> {
  const store = await openEventStore({ fileSystem: createMemoryFileSystem(), directory: "/empty", blockBytes });
  yield* store.exportSnapshot();
  await store.close();
}

export function createEventStoreState(options: EventStoreStateOptions): EventStoreState {
  // walSync false: the raft log already holds every entry durably before it is applied, and
  // the host restores its own durable snapshot when the store reopens below the log's start;
  // so a batch need not be fdatasync'ed again here (one fsync per apply saved on every replica).
  // The store stays atomic per batch (data, index and sessions in one WAL record).
  const location = { fileSystem: options.fileSystem, directory: options.directory,
    blockBytes: options.blockBytes ?? BLOCK_BYTES_DEFAULT, walSync: false,
    ...(options.applySlices === undefined ? {} : { applySlices: options.applySlices }) };
  const core: StateCore = {
    store: undefined, settings: new Map(), dedup: new Map(), checkers: new Map(), schemas: new Map(),
    staged: [], stagedLeases: [], arenas: new Map(), stagedSchemas: new Map(), blockBytes: location.blockBytes,
  };
  const queries = createQueryExecutors(core);
  return {
    executor: {
      createStream: (request, context) => createStream(core, request, context),
      insert: (request, context) => insert(core, request, context, options.applySlices?.rows),
      ...queries,
    },
    store: () => openStore(core),
    columnMemory: (stream) => {
      const arena = core.arenas.get(stream)?.arena;
      return { reservedRows: arena?.reservedRows() ?? 0, laneRows: arena?.laneRows() ?? 0 };
    },
    async open(): Promise<OpenedState> {
      await location.fileSystem.mkdir(location.directory);
      const names = await location.fileSystem.readdir(location.directory);
      // Files without a manifest: a snapshot restore was interrupted; start empty (raft resends).
      if (names.length > 0 && !names.includes("manifest")) {
        await removeStoreFiles(location.fileSystem, location.directory);
      }
      core.store = await openEventStore(location);
      loadIndexes(core);
      const annex = core.store.annex();
      return { appliedIndex: core.store.appliedIndex(), ...(annex.byteLength > 0 ? { frameworkState: annex } : {}) };
    },
    async persist(appliedIndex, frameworkState) {
      const staged = core.staged;
      const leases = core.stagedLeases;
      core.staged = [];
      core.stagedLeases = [];
      core.stagedSchemas = new Map();
      try {
        await openStore(core).applyBatch(staged, appliedIndex, frameworkState);
      } finally {
        // The engine copied the columns into its blocks (or failed: the store is unusable then).
        for (const lease of leases) lease.release();
      }
    },
    saveSnapshot() {
      // Before open (the host's bootstrap snapshot of a new group): the empty store.
      if (core.store === undefined) return emptySnapshot(location.blockBytes);
      if (core.staged.length !== 0) throw new Error(`snapshot with ${core.staged.length} operations staged`);
      return openStore(core).exportSnapshot();
    },
    async restoreSnapshot(_index, chunks) {
      await openStore(core).close();
      core.store = undefined;
      await removeStoreFiles(location.fileSystem, location.directory);
      core.store = await importEventStore(location, chunks);
      releaseStaged(core);
      core.staged = [];
      core.stagedSchemas = new Map();
      loadIndexes(core);
    },
    async close() {
      if (core.store !== undefined) await core.store.close();
      core.store = undefined;
      releaseStaged(core);
    },
  };
}

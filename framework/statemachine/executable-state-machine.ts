/**
 * Turns an executor registry and the user's state into a StateMachine the
 * host drives: log entries are envelope batches, results are result batches,
 * and executors see only decoded requests and a deterministic context.
 */
import type { ApplyContext, QueryContext } from "./apply-context.js";
import { createTurnKeeper } from "./apply-turns.js";
import type { ApplyTurns, TurnKeeper } from "./apply-turns.js";
import { assert } from "./assert.js";
import { createByteStreamReader } from "./byte-stream-reader.js";
import { createDeterministicRandom } from "./deterministic-random.js";
import type { DeterministicRandom } from "./deterministic-random.js";
import {
  decodeEnvelope,
  decodeEnvelopeBatch,
  encodeEnvelopeBatch,
  encodeResult,
  encodeResultBatch,
  errorResult,
  okResult,
} from "./envelope-codec.js";
import type { EnvelopeRecord, ExecutionResult } from "./envelope-codec.js";
import { stampEnvelopeInPlace } from "./envelope-wire.js";
import { StateMachineError, StateMachineErrorCode, isStateMachineError } from "./errors.js";
import { ExecutableKind } from "./executable-message.js";
import type { ExecutableState } from "./executable-state.js";
import type { ExecutorRegistry, RegisteredExecutable } from "./executor-registry.js";
import { resolveExecutableLimits } from "./session-limits.js";
import type { ExecutableLimits } from "./session-limits.js";
import { createSessionTable } from "./session-table.js";
import type { SessionTable } from "./session-table.js";
import {
  createFrameworkStateEncoder,
  decodeFrameworkState,
  readSnapshotHead,
  writeSnapshotHead,
} from "./snapshot-format.js";
import type { FrameworkStateEncoder } from "./snapshot-format.js";
import type { CommittedCommand, StateMachine } from "./state-machine.js";

export interface ExecutableStateMachineOptions {
  readonly partitionId: number;
  /** Must not change once the machine runs (every replica registers the same). */
  readonly registry: ExecutorRegistry;
  readonly state: ExecutableState;
  /** Equal on every replica of the partition; checked here. */
  readonly limits?: Partial<ExecutableLimits>;
  /**
   * Yields of the apply to the event loop (a node process passes
   * a macrotask yield); without it an entry's envelopes run in one pass.
   */
  readonly applyTurns?: ApplyTurns;
}

/** A StateMachine plus the proposer's check, and read-only views for tests and status pages. */
export interface ExecutableStateMachine extends StateMachine {
  readonly partitionId: number;
  /** Index of the last applied command. */
  appliedIndex(): number;
  /** The state machine's clock (largest proposer timestamp applied), ms. */
  clockMs(): number;
  sessionCount(): number;
  /**
   * The proposer's step, on the leader before the entry enters the log:
   * checks every envelope of the batch (decodes, known type, a command,
   * payload within limits) and stamps them with `nowMs`. Throws
   * StateMachineError naming the first problem, so bad input is refused
   * before it costs a log entry. Reads no state; safe to call any time.
   */
  prepareProposal(data: Uint8Array, nowMs: number): Uint8Array;
  /**
   * The registered executable of a message type, for the gateway's typed
   * (JSON) requests: its kind and JSON conversions. Undefined if unknown.
   */
  executable(typeName: string): RegisteredExecutable | undefined;
  /** Registered message type names, sorted (for error messages). */
  typeNames(): readonly string[];
}

/** Whether a StateMachine was built by createExecutableStateMachine (shape-based). */
export function isExecutableStateMachine(machine: StateMachine): machine is ExecutableStateMachine {
  const candidate = machine as Partial<ExecutableStateMachine>;
  return typeof candidate.executable === "function" && typeof candidate.typeNames === "function";
}

/** The mutable core of one machine; the functions below take it explicitly. */
interface Machine {
  readonly partitionId: number;
  readonly registry: ExecutorRegistry;
  readonly limits: ExecutableLimits;
  readonly sessions: SessionTable;
  readonly turns: TurnKeeper;
  /** Index of the last applied command. */
  applied: number;
  /** The largest proposer timestamp applied; never goes backwards. */
  clock: number;
}

export function createExecutableStateMachine(
  options: ExecutableStateMachineOptions,
): ExecutableStateMachine {
  const { partitionId, registry, state } = options;
  if (!(Number.isSafeInteger(partitionId) && partitionId >= 0)) {
    throw new RangeError(`partitionId = ${partitionId}, allowed safe integer >= 0`);
  }
  const limits = resolveExecutableLimits(options.limits);
  // A durable state gets the framework's state after every batch, encoded incrementally.
  const encoder = state.persist === undefined ? undefined : createFrameworkStateEncoder();
  const sessions = createSessionTable(limits, encoder !== undefined);
  const turns = createTurnKeeper(options.applyTurns);
  const machine: Machine = { partitionId, registry, limits, sessions, turns, applied: 0, clock: 0 };
  return {
    partitionId,
    appliedIndex: () => machine.applied,
    clockMs: () => machine.clock,
    sessionCount: () => sessions.size,
    prepareProposal: (data, nowMs) => prepareProposal(machine, data, nowMs),
    executable: (typeName) => registry.lookup(typeName),
    typeNames: () => registry.typeNames(),
    open: () => openMachine(machine, state),
    async apply(commands) {
      const results: Uint8Array[] = [];
      for (const command of commands) results.push(await applyCommand(machine, command));
      // The state's persist (an engine batch) starts in a turn of its own once the budget is spent.
      await turns.beforeEnvelope(0);
      await persistFrameworkState(machine, state, encoder);
      return results;
    },
    async query(request) {
      return encodeResult(await runQuery(machine, request));
    },
    saveSnapshot() {
      // Both parts are captured now: the host may read the stream while apply goes on.
      const head = writeSnapshotHead({ clockMs: machine.clock, sessions: sessions.list() });
      const user = state.saveSnapshot();
      return concatStreams(head, user);
    },
    async restoreSnapshot(index, chunks) {
      assert(Number.isSafeInteger(index) && index >= 0, () => `restore index ${index}`);
      const reader = createByteStreamReader(chunks);
      const head = await readSnapshotHead(reader);
      await state.restoreSnapshot(index, reader.rest());
      sessions.replace(head.sessions);
      machine.clock = head.clockMs;
      machine.applied = index;
      await persistFrameworkState(machine, state, encoder);
    },
    close: () => state.close(),
  };
}

/** Opens the state; a durable state's framework bytes bring back the sessions and the clock. */
async function openMachine(machine: Machine, state: ExecutableState): Promise<number> {
  const opened = await state.open();
  const { appliedIndex, frameworkState } =
    typeof opened === "number" ? { appliedIndex: opened, frameworkState: undefined } : opened;
  assert(Number.isSafeInteger(appliedIndex) && appliedIndex >= 0, () =>
    `state.open() returned applied index ${appliedIndex}, allowed safe integer >= 0`,
  );
  if (frameworkState !== undefined) {
    assert(frameworkState instanceof Uint8Array, "state.open(): frameworkState must be a Uint8Array");
    const head = await decodeFrameworkState(frameworkState);
    machine.sessions.replace(head.sessions);
    machine.clock = head.clockMs;
  }
  machine.applied = appliedIndex;
  return appliedIndex;
}

/** Hands a durable state the sessions and clock to store with its data and index. */
async function persistFrameworkState(
  machine: Machine,
  state: ExecutableState,
  encoder: FrameworkStateEncoder | undefined,
): Promise<void> {
  if (state.persist === undefined || encoder === undefined) return;
  await state.persist(machine.applied, encoder.encode(machine.clock, machine.sessions));
}

function prepareProposal(machine: Machine, data: Uint8Array, nowMs: number): Uint8Array {
  const envelopes = decodeEnvelopeBatch(data);
  for (const [position, envelope] of envelopes.entries()) {
    const check = checkEnvelope(machine, envelope, ExecutableKind.Command);
    if (check.ok) continue;
    assert(!check.result.ok, "a failed check carries an error result");
    const where = envelopes.length > 1 ? `envelope ${position} of ${envelopes.length}: ` : "";
    throw new StateMachineError(check.result.code, where + check.result.message);
  }
  if (!(Number.isSafeInteger(nowMs) && nowMs >= 0)) {
    throw new RangeError(`proposal time ${nowMs} ms, allowed safe integer >= 0`);
  }
  // Built in place with the stamp's room (buildCommand, encodeAfter) and never stamped: stamped
  // in its own bytes. The event store's leader re-encoded every ~1 MB proposal here (a copy each).
  if (envelopes.length === 1 && stampEnvelopeInPlace(data, nowMs)) return data;
  return encodeEnvelopeBatch(envelopes.map((envelope) => ({ ...envelope, timestampMs: nowMs })));
}

/** One log entry: an envelope batch in, a result batch out. */
async function applyCommand(machine: Machine, command: CommittedCommand): Promise<Uint8Array> {
  assert(command.index > machine.applied, () =>
    `apply index ${command.index}, allowed > applied ${machine.applied}`,
  );
  let envelopes: EnvelopeRecord[];
  try {
    envelopes = decodeEnvelopeBatch(command.data);
  } catch (reason) {
    if (!isStateMachineError(reason)) throw reason;
    machine.applied = command.index;
    const message = `entry ${command.index}: ${reason.rawMessage}`;
    return encodeResultBatch([errorResult(reason.code, message)]);
  }
  const results: ExecutionResult[] = [];
  for (const [position, envelope] of envelopes.entries()) {
    await machine.turns.beforeEnvelope(envelope.payload.length);
    results.push(await applyEnvelope(machine, envelope, command, position));
  }
  machine.applied = command.index;
  return encodeResultBatch(results);
}

/** Clock, expiry, session check, execution, result cache: in this order on every replica. */
async function applyEnvelope(
  machine: Machine,
  envelope: EnvelopeRecord,
  command: CommittedCommand,
  position: number,
): Promise<ExecutionResult> {
  machine.clock = Math.max(machine.clock, envelope.timestampMs);
  machine.sessions.expire(machine.clock);
  const stamp = envelope.session;
  if (stamp !== undefined) {
    const decision = machine.sessions.begin(stamp, machine.clock);
    if (decision.action !== "execute") return decision.result;
  }
  const result = await executeCommand(machine, envelope, command, position);
  if (stamp !== undefined) machine.sessions.complete(stamp, result);
  return result;
}

async function executeCommand(
  machine: Machine,
  envelope: EnvelopeRecord,
  command: CommittedCommand,
  position: number,
): Promise<ExecutionResult> {
  const check = checkEnvelope(machine, envelope, ExecutableKind.Command);
  if (!check.ok) return check.result;
  const context = createApplyContext(machine, command, position, envelope);
  return runCaught(() => check.registration.runCommand(envelope.payload, context));
}

type EnvelopeCheck =
  | { readonly ok: true; readonly registration: RegisteredExecutable }
  | { readonly ok: false; readonly result: ExecutionResult };

/** Type, kind and size, in that order; the first problem found is the answer. */
function checkEnvelope(
  machine: Machine,
  envelope: EnvelopeRecord,
  kind: ExecutableKind,
): EnvelopeCheck {
  const limits = machine.limits;
  const registration = machine.registry.lookup(envelope.type);
  if (registration === undefined) {
    const message = `no executor for message type "${envelope.type}"`;
    return { ok: false, result: errorResult(StateMachineErrorCode.UnknownType, message) };
  }
  if (registration.kind !== kind) {
    const message = `${envelope.type} is a ${registration.kind}, sent as a ${kind}`;
    return { ok: false, result: errorResult(StateMachineErrorCode.WrongKind, message) };
  }
  if (envelope.payload.length > limits.maxPayloadBytes) {
    const message =
      `${envelope.type}: payload of ${envelope.payload.length} bytes, ` +
      `allowed at most ${limits.maxPayloadBytes}`;
    return { ok: false, result: errorResult(StateMachineErrorCode.TooLarge, message) };
  }
  return { ok: true, registration };
}

async function runQuery(machine: Machine, request: Uint8Array): Promise<ExecutionResult> {
  let envelope: EnvelopeRecord;
  try {
    envelope = decodeEnvelope(request);
  } catch (reason) {
    if (!isStateMachineError(reason)) throw reason;
    return errorResult(reason.code, reason.rawMessage);
  }
  const check = checkEnvelope(machine, envelope, ExecutableKind.Query);
  if (!check.ok) return check.result;
  const context: QueryContext = {
    partitionId: machine.partitionId,
    appliedIndex: machine.applied,
    timestampMs: machine.clock,
  };
  return runCaught(() => check.registration.runQuery(envelope.payload, context));
}

/**
 * Runs an executor: its StateMachineError (an expected failure) becomes an
 * error result; anything else is a bug and fails apply (or the query).
 */
async function runCaught(run: () => Promise<Uint8Array>): Promise<ExecutionResult> {
  try {
    return okResult(await run());
  } catch (reason) {
    if (!isStateMachineError(reason)) throw reason;
    return errorResult(reason.code, reason.rawMessage);
  }
}

function createApplyContext(
  machine: Machine,
  command: CommittedCommand,
  position: number,
  envelope: EnvelopeRecord,
): ApplyContext {
  const { partitionId, clock: timestampMs, turns } = machine;
  let random: DeterministicRandom | undefined;
  const session =
    envelope.session === undefined
      ? undefined
      : { clientId: envelope.session.clientId, sequence: envelope.session.sequence };
  return {
    partitionId,
    index: command.index,
    term: command.term,
    position,
    timestampMs,
    session,
    get random() {
      random ??= createDeterministicRandom(partitionId, command.index, position);
      return random;
    },
    yieldTurn: () => turns.yieldTurn(),
  };
}

async function* concatStreams(
  ...streams: readonly AsyncIterable<Uint8Array>[]
): AsyncGenerator<Uint8Array> {
  for (const stream of streams) yield* stream;
}

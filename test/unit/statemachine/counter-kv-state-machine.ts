/**
 * A counter + key-value state machine written by hand on the executable
 * layer: descriptors (what codegen will emit), executors over a plain state,
 * and the state's lifecycle (snapshots as JSON, in two chunks).
 */
import {
  ExecutableKind,
  StateMachineError,
  StateMachineErrorCode,
  createExecutableStateMachine,
  createExecutorRegistry,
  defineExecutableMessage,
  tsProtoCodec,
} from "../../../framework/statemachine/index.js";
import type {
  ApplyTurns,
  ExecutableLimits,
  ExecutableState,
  ExecutableStateMachine,
} from "../../../framework/statemachine/index.js";
import {
  AddRequest,
  CounterValue,
  NameRequest,
  PreviousValue,
  PutRequest,
  StampRequest,
  StampResponse,
} from "./counter-kv-messages.js";

/** The state machine type name nodes register this machine under. */
export const counterKvType = "counterkv";

export const Add = defineExecutableMessage({
  typeName: "counter.v1.CounterService/Add",
  kind: ExecutableKind.Command,
  request: tsProtoCodec(AddRequest),
  response: tsProtoCodec(CounterValue),
  stateMachine: counterKvType,
});

export const GetCounter = defineExecutableMessage({
  typeName: "counter.v1.CounterService/Get",
  kind: ExecutableKind.Query,
  request: tsProtoCodec(NameRequest),
  response: tsProtoCodec(CounterValue),
  stateMachine: counterKvType,
});

export const Put = defineExecutableMessage({
  typeName: "kv.v1.KvService/Put",
  kind: ExecutableKind.Command,
  request: tsProtoCodec(PutRequest),
  response: tsProtoCodec(PreviousValue),
  stateMachine: counterKvType,
});

export const Delete = defineExecutableMessage({
  typeName: "kv.v1.KvService/Delete",
  kind: ExecutableKind.Command,
  request: tsProtoCodec(NameRequest),
  response: tsProtoCodec(PreviousValue),
  stateMachine: counterKvType,
});

export const GetValue = defineExecutableMessage({
  typeName: "kv.v1.KvService/Get",
  kind: ExecutableKind.Query,
  request: tsProtoCodec(NameRequest),
  response: tsProtoCodec(PreviousValue),
  stateMachine: counterKvType,
});

/** Answers with what the apply context says: time, position, random draws. */
export const Stamp = defineExecutableMessage({
  typeName: "kv.v1.KvService/Stamp",
  kind: ExecutableKind.Command,
  request: tsProtoCodec(StampRequest),
  response: tsProtoCodec(StampResponse),
  stateMachine: counterKvType,
});

/** How many times executors changed the state: counts applies, for exactly-once checks across processes. */
export const Effects = defineExecutableMessage({
  typeName: "counter.v1.CounterService/Effects",
  kind: ExecutableKind.Query,
  request: tsProtoCodec(NameRequest),
  response: tsProtoCodec(CounterValue),
  stateMachine: counterKvType,
});

/** A command whose executor has a bug: it throws a plain Error. */
export const Crash = defineExecutableMessage({
  typeName: "kv.v1.KvService/Crash",
  kind: ExecutableKind.Command,
  request: tsProtoCodec(NameRequest),
  response: tsProtoCodec(PreviousValue),
  stateMachine: counterKvType,
});

export interface CounterKvState extends ExecutableState {
  readonly counters: ReadonlyMap<string, number>;
  readonly values: ReadonlyMap<string, string>;
  /** How many times an executor changed the state (counts effects, for exactly-once checks). */
  effects(): number;
  add(name: string, delta: number): number;
  put(key: string, value: string): string | undefined;
  delete(key: string): string | undefined;
}

interface SnapshotJson {
  counters: [string, number][];
  values: [string, string][];
  effects: number;
}

export function createCounterKvState(): CounterKvState {
  const counters = new Map<string, number>();
  const values = new Map<string, string>();
  let effects = 0;
  const byKey = <V>(left: [string, V], right: [string, V]): number => (left[0] < right[0] ? -1 : 1);
  return {
    counters,
    values,
    effects: () => effects,
    add(name, delta) {
      effects += 1;
      const value = (counters.get(name) ?? 0) + delta;
      counters.set(name, value);
      return value;
    },
    put(key, value) {
      effects += 1;
      const previous = values.get(key);
      values.set(key, value);
      return previous;
    },
    delete(key) {
      const previous = values.get(key);
      if (previous === undefined) return undefined;
      effects += 1;
      values.delete(key);
      return previous;
    },
    open: async () => 0,
    saveSnapshot() {
      const json: SnapshotJson = {
        counters: [...counters].sort(byKey),
        values: [...values].sort(byKey),
        effects,
      };
      const encoded = new TextEncoder().encode(JSON.stringify(json));
      const half = encoded.length >> 1;
      return (async function* () {
        yield encoded.slice(0, half);
        yield encoded.slice(half);
      })();
    },
    async restoreSnapshot(_index, chunks) {
      let text = "";
      const decoder = new TextDecoder();
      for await (const chunk of chunks) text += decoder.decode(chunk, { stream: true });
      const parsed: SnapshotJson = JSON.parse(text + decoder.decode());
      counters.clear();
      values.clear();
      for (const [name, value] of parsed.counters) counters.set(name, value);
      for (const [key, value] of parsed.values) values.set(key, value);
      effects = parsed.effects;
    },
    close: async () => undefined,
  };
}

export interface CounterKvMachine {
  readonly machine: ExecutableStateMachine;
  readonly state: CounterKvState;
}

/** The machine of one replica: a fresh state, every executor registered. */
export function createCounterKvMachine(
  partitionId = 7,
  limits: Partial<ExecutableLimits> = {},
  applyTurns?: ApplyTurns,
): CounterKvMachine {
  const state = createCounterKvState();
  const registry = createExecutorRegistry();
  registry.registerCommand(Add, (request) => {
    if (request.delta === 0) {
      throw new StateMachineError(StateMachineErrorCode.InvalidArgument, "delta must not be 0");
    }
    return { value: state.add(request.name, request.delta) };
  });
  registry.registerQuery(GetCounter, (request) => ({
    value: state.counters.get(request.name) ?? 0,
  }));
  registry.registerQuery(Effects, () => ({ value: state.effects() }));
  registry.registerCommand(Put, (request) => {
    const previous = state.put(request.key, request.value);
    return { found: previous !== undefined, value: previous ?? "" };
  });
  registry.registerCommand(Delete, (request) => {
    const previous = state.delete(request.name);
    if (previous === undefined) {
      const message = `key "${request.name}" not found`;
      throw new StateMachineError(StateMachineErrorCode.NotFound, message);
    }
    return { found: true, value: previous };
  });
  registry.registerQuery(GetValue, (request) => {
    const value = state.values.get(request.name);
    return { found: value !== undefined, value: value ?? "" };
  });
  registry.registerCommand(Stamp, async (request, context) => {
    const randoms: number[] = [];
    // A yield between draws (a long executor's slices): the draws are the same without it.
    for (let draw = 0; draw < request.draws; draw++) {
      if (draw > 0) await context.yieldTurn();
      randoms.push(context.random.nextUint32());
    }
    return { timestampMs: context.timestampMs, index: context.index, position: context.position, randoms };
  });
  registry.registerCommand(Crash, (request) => {
    throw new Error(`bug while handling ${request.name}`);
  });
  const machine = createExecutableStateMachine({ partitionId, registry, state, limits,
    ...(applyTurns === undefined ? {} : { applyTurns }) });
  return { machine, state };
}

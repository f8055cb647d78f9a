import {
  createExecutableStateMachine,
  createExecutorRegistry,
} from "../../../framework/statemachine/index.js";
import type { ExecutableStateMachine } from "../../../framework/statemachine/index.js";
import type { ApplySlices, EngineFileSystem } from "../engine/index.js";
import { createEventStoreState } from "./event-store-state.js";
import type { EventStoreState } from "./event-store-state.js";
import { registerEventStoreService } from "./executor.js";

/** An event of a timestamp and 7 doubles: the machine's yield budget is counted in payload bytes. */
const BYTES_PER_EVENT_GUESS = 64;

export interface EventStoreMachineOptions {
  readonly partitionId: number;
  readonly fileSystem: EngineFileSystem;
  /** This replica's store directory (one per partition). */
  readonly directory: string;
  readonly blockBytes?: number;
  /**
   * See EventStoreOptions.applySlices (a node process passes setImmediate).
   * The same rows and yield serve the executors (an insert's dedup pass)
   * and the executable machine (between commands: ApplyTurns).
   */
  readonly applySlices?: ApplySlices;
}

/** The replicated event store of one partition replica: executors over the engine-backed state. */
export function createEventStoreMachine(options: EventStoreMachineOptions): {
  readonly machine: ExecutableStateMachine;
  readonly state: EventStoreState;
} {
  const state = createEventStoreState({
    fileSystem: options.fileSystem,
    directory: options.directory,
    ...(options.blockBytes === undefined ? {} : { blockBytes: options.blockBytes }),
    ...(options.applySlices === undefined ? {} : { applySlices: options.applySlices }),
  });
  const registry = createExecutorRegistry();
  registerEventStoreService(registry, state.executor);
  const slices = options.applySlices;
  // The machine yields between commands too, after about `rows` events of 64 bytes.
  const applyTurns = slices === undefined ? undefined
    : { payloadBytes: slices.rows * BYTES_PER_EVENT_GUESS, yieldNow: slices.yieldNow };
  const machine = createExecutableStateMachine({ partitionId: options.partitionId, registry, state,
    ...(applyTurns === undefined ? {} : { applyTurns }) });
  return { machine, state };
}

import {
  createExecutableStateMachine,
  createExecutorRegistry,
} from "../../../framework/statemachine/index.js";
import type { ExecutableStateMachine } from "../../../framework/statemachine/index.js";
import type { ApplySlices, EngineFileSystem } from "../engine/index.js";
import { createEventStoreState } from "./event-store-state.js";
import type { EventStoreState } from "./event-store-state.js";
import { registerEventStoreService } from "./executor.js";

export interface EventStoreMachineOptions {
  readonly partitionId: number;
  readonly fileSystem: EngineFileSystem;
  /** This replica's store directory (one per partition). */
  readonly directory: string;
  readonly blockBytes?: number;
  /** See EventStoreOptions.applySlices (a node process passes setImmediate). */
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
  return { machine: createExecutableStateMachine({ partitionId: options.partitionId, registry, state }), state };
}

import { createKvStateMachine } from "../statemachine/index.js";
import type { StateMachine, StateMachineFactory } from "../statemachine/index.js";

/** State machine factories by the name StartGroups and the CLI use ("kv" is built in). */
export type StateMachineTypes = ReadonlyMap<string, StateMachineFactory>;

export const builtinStateMachineTypes: StateMachineTypes = new Map<string, StateMachineFactory>([
  ["kv", () => createKvStateMachine()],
]);

/** A state machine that can say, cheaply enough for a status call, what state it holds. */
export interface DigestingStateMachine extends StateMachine {
  digest(): Uint8Array;
}

export function hasDigest(machine: StateMachine): machine is DigestingStateMachine {
  return typeof (machine as Partial<DigestingStateMachine>).digest === "function";
}

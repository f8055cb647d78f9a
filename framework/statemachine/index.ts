export type { CommittedCommand, StateMachine, StateMachineFactory } from "./state-machine.js";

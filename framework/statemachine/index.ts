export type { CommittedCommand, StateMachine, StateMachineFactory } from "./state-machine.js";
export type { KvRequest, KvResult, KvStateMachine } from "./kv-state-machine.js";
export {
  createKvStateMachine,
  decodeKvRequest,
  decodeKvResult,
  encodeKvRequest,
  encodeKvResult,
  KvOp,
  kvMaxKeyBytes,
} from "./kv-state-machine.js";

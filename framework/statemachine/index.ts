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
export type { ApplyContext, QueryContext } from "./apply-context.js";
export type { ApplyTurns } from "./apply-turns.js";
export type { ClientSession, SessionRandomSource } from "./client-session.js";
export { createClientSession } from "./client-session.js";
export type { BuildOptions } from "./client-envelopes.js";
export {
  buildCommand,
  buildQuery,
  readCommandResult,
  readQueryResult,
  unwrapResult,
} from "./client-envelopes.js";
export type { DeterministicRandom } from "./deterministic-random.js";
export { createDeterministicRandom } from "./deterministic-random.js";
export type { EnvelopeRecord, ExecutionResult, SessionStamp } from "./envelope-codec.js";
export {
  decodeEnvelope,
  decodeEnvelopeBatch,
  decodeResult,
  decodeResultBatch,
  encodeEnvelope,
  encodeEnvelopeBatch,
  encodeResult,
  encodeResultBatch,
  errorResult,
  okResult,
  stampEnvelopeBatch,
} from "./envelope-codec.js";
export {
  StateMachineError,
  StateMachineErrorCode,
  isStateMachineError,
  isStateMachineErrorCode,
} from "./errors.js";
export { errorCodeFromWire, errorCodeToWire } from "./error-code-wire.js";
export type { ExecutableMessage, MessageCodec } from "./executable-message.js";
export { ExecutableKind, defineExecutableMessage } from "./executable-message.js";
export type { ExecutableState, OpenedState } from "./executable-state.js";
export type {
  ExecutableStateMachine,
  ExecutableStateMachineOptions,
} from "./executable-state-machine.js";
export { createExecutableStateMachine, isExecutableStateMachine } from "./executable-state-machine.js";
export type {
  CommandExecutor,
  ExecutorRegistry,
  QueryExecutor,
  RegisteredExecutable,
} from "./executor-registry.js";
export { createExecutorRegistry } from "./executor-registry.js";
export type { ExecutableLimits } from "./session-limits.js";
export { defaultExecutableLimits, resolveExecutableLimits } from "./session-limits.js";
export type { TsProtoMessageFns } from "./ts-proto-codec.js";
export { tsProtoCodec } from "./ts-proto-codec.js";
export type {
  CodecOverride,
  CodecOverrides,
  DescriptorsWithCodecs,
  WithCodecs,
} from "./codec-override.js";
export { withCodecOverrides, withCodecs } from "./codec-override.js";
export { protobufEsCodec } from "./protobuf-es-codec.js";

export { TransportError, TransportErrorCode, isTransportError } from "./errors.js";
export type { Clock, TimerHandle } from "./clock.js";
export { createSystemClock } from "./clock.js";
export type { Logger, LogFields } from "./logger.js";
export { createSilentLogger } from "./logger.js";
export type { GroupId, GroupMessage } from "./group-message.js";
export {
  decodeGroupMessage,
  decodeMessage,
  encodeGroupMessage,
  encodeMessage,
} from "./message-codec.js";
export { messageFromProto, messageToProto } from "./message-convert.js";

export { TransportError, TransportErrorCode, isTransportError } from "./errors.js";
export type { Clock, TimerHandle } from "./clock.js";
export { createSystemClock } from "./clock.js";
export type { ManualClock } from "./manual-clock.js";
export { createManualClock } from "./manual-clock.js";
export type { Logger, LogFields } from "./logger.js";
export { createSilentLogger } from "./logger.js";
export type { GroupId, GroupMessage } from "./group-message.js";
export {
  decodeGroupMessage,
  decodeMessage,
  encodeGroupMessage,
  encodeGroupMessageParts,
  encodeMessage,
} from "./message-codec.js";
export { messageFromProto, messageToProto } from "./message-convert.js";
export type { IncomingSnapshot, Transport, TransportHandler } from "./transport.js";
export type { TransportLimits } from "./limits.js";
export { createTransportLimits, defaultTransportLimits } from "./limits.js";
export { reconnectDelayMs } from "./backoff.js";
export type { MemoryEnvelope, MemoryNetwork } from "./memory-transport.js";
export { createMemoryNetwork } from "./memory-transport.js";
export type { ConnectTransportOptions } from "./connect-transport.js";
export { createConnectTransport } from "./connect-transport.js";
export type { TransportServiceOptions } from "./transport-service.js";
export { createTransportServiceImpl, registerTransportService } from "./transport-service.js";

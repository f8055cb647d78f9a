import { TransportError, TransportErrorCode } from "./errors.js";

/** Every queue and wait of the transport is bounded by one of these (STYLE rule 15). */
export interface TransportLimits {
  /** Messages waiting for one peer; beyond it new messages are dropped and reported. */
  readonly maxQueuedMessagesPerPeer: number;
  /** Bytes of encoded messages waiting for one peer; same policy. */
  readonly maxQueuedBytesPerPeer: number;
  /**
   * Largest frame (one batch, one snapshot chunk) sent or accepted. A peer's
   * larger frame closes its stream with an error; a single message larger
   * than this cannot be sent and is dropped and reported.
   */
  readonly maxFrameBytes: number;
  /** Batches written to a peer's stream and not yet acknowledged. */
  readonly maxInflightBatches: number;
  /**
   * Bytes written to a peer's stream and not yet acknowledged (one batch may
   * exceed it when nothing else is in flight). Bounds how long a message can
   * wait behind earlier ones at a busy receiver, and so the ack delay the
   * watchdog sees.
   */
  readonly maxInflightBytes: number;
  /** A stream whose oldest unacknowledged batch is older than this is declared dead. */
  readonly ackTimeoutMs: number;
  /** First reconnect delay; doubles per failed attempt up to backoffMaxMs, with jitter. */
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** A snapshot transfer with no progress (chunk written or answer) for this long fails. */
  readonly snapshotIdleTimeoutMs: number;
}

export const defaultTransportLimits: TransportLimits = {
  maxQueuedMessagesPerPeer: 8192,
  maxQueuedBytesPerPeer: 64 * 1024 * 1024,
  maxFrameBytes: 4 * 1024 * 1024,
  maxInflightBatches: 64,
  maxInflightBytes: 8 * 1024 * 1024,
  ackTimeoutMs: 5000,
  backoffInitialMs: 100,
  backoffMaxMs: 5000,
  snapshotIdleTimeoutMs: 30_000,
};

/** Fills defaults and checks every limit at start-up; names the first bad one. */
export function createTransportLimits(overrides: Partial<TransportLimits> = {}): TransportLimits {
  const limits: TransportLimits = { ...defaultTransportLimits, ...overrides };
  const checks: Array<[keyof TransportLimits, number, number]> = [
    ["maxQueuedMessagesPerPeer", 1, 10_000_000],
    ["maxQueuedBytesPerPeer", 1024, 2 ** 40],
    ["maxFrameBytes", 1024, 1024 * 1024 * 1024],
    ["maxInflightBatches", 1, 100_000],
    ["maxInflightBytes", 1024, 2 ** 40],
    ["ackTimeoutMs", 1, 3_600_000],
    ["backoffInitialMs", 1, 3_600_000],
    ["backoffMaxMs", 1, 3_600_000],
    ["snapshotIdleTimeoutMs", 1, 3_600_000],
  ];
  for (const [name, low, high] of checks) {
    const value = limits[name];
    if (!(Number.isInteger(value) && value >= low && value <= high)) {
      throw new TransportError(
        TransportErrorCode.InvalidConfig,
        `limit ${name} = ${value}, allowed integer in [${low}, ${high}]`,
      );
    }
  }
  if (limits.backoffMaxMs < limits.backoffInitialMs) {
    throw new TransportError(
      TransportErrorCode.InvalidConfig,
      `limit backoffMaxMs = ${limits.backoffMaxMs}, ` +
        `allowed ≥ backoffInitialMs = ${limits.backoffInitialMs}`,
    );
  }
  return limits;
}

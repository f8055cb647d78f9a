import type { SessionStamp } from "./envelope-codec.js";

/** Where a client's session id comes from (injected: tests and simulators seed it). */
export interface SessionRandomSource {
  /** A uniformly distributed integer in [0, 2^32). */
  nextUint32(): number;
}

/**
 * A client's session with ONE partition: its id, its next sequence and the
 * acknowledgement mark it reports to the state machine. Use one per
 * partition (a state machine opens an unknown session only while the client
 * reports no results from it, see docs/state-machines.md).
 */
export interface ClientSession {
  readonly clientId: bigint;
  /** The stamp of a new command. A retry resends the first stamp, never a new one. */
  nextStamp(): SessionStamp;
  /**
   * The client is done with `sequence`: it has its final answer and will not
   * send it again. The state machine may then forget that result.
   */
  onDone(sequence: number): void;
  /** Every sequence ≤ this is done (what new stamps report as responded_to). */
  respondedTo(): number;
  /** Sequences handed out and not done yet. */
  pendingCount(): number;
}

export function createClientSession(random: SessionRandomSource): ClientSession {
  let clientId = 0n;
  while (clientId === 0n) {
    clientId = (BigInt(random.nextUint32() >>> 0) << 32n) | BigInt(random.nextUint32() >>> 0);
  }
  let lastSequence = 0;
  let mark = 0;
  // Done sequences above the mark: they wait for the gap below them to fill.
  const doneAboveMark = new Set<number>();
  return {
    clientId,
    nextStamp() {
      lastSequence += 1;
      return { clientId, sequence: lastSequence, respondedTo: mark };
    },
    onDone(sequence) {
      if (!(Number.isSafeInteger(sequence) && sequence >= 1 && sequence <= lastSequence)) {
        throw new RangeError(
          `onDone(${sequence}): allowed a handed-out sequence in [1, ${lastSequence}]`,
        );
      }
      if (sequence <= mark) return;
      doneAboveMark.add(sequence);
      while (doneAboveMark.delete(mark + 1)) mark += 1;
    },
    respondedTo: () => mark,
    pendingCount: () => lastSequence - mark - doneAboveMark.size,
  };
}

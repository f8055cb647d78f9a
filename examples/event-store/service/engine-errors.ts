import {
  StateMachineError,
  StateMachineErrorCode,
} from "../../../framework/statemachine/index.js";
import { EventStoreErrorCode, isEventStoreError } from "../engine/index.js";

/**
 * Runs engine work for a request: the engine's expected refusals (bad
 * schema, bad event, unknown stream, bad query argument) become the
 * caller's StateMachineError; anything else (corruption, I/O, a broken
 * invariant) propagates and fails the group, as it must.
 */
export function mapEngineErrors<Result>(work: () => Result): Result {
  try {
    return work();
  } catch (error) {
    throw toStateMachineError(error);
  }
}

export function toStateMachineError(error: unknown): unknown {
  if (!isEventStoreError(error)) return error;
  switch (error.code) {
    case EventStoreErrorCode.InvalidSchema:
    case EventStoreErrorCode.InvalidEvent:
    case EventStoreErrorCode.InvalidArgument:
      return new StateMachineError(StateMachineErrorCode.InvalidArgument, error.message);
    case EventStoreErrorCode.UnknownStream:
      return new StateMachineError(StateMachineErrorCode.NotFound, error.message);
    case EventStoreErrorCode.StreamExists:
      return new StateMachineError(StateMachineErrorCode.AlreadyExists, error.message);
    default:
      return error;
  }
}

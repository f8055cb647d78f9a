/**
 * The client history of one simulated run: one record per operation, in the
 * shape `--history-out` writes (times in virtual ticks). The linearizability
 * checker reads the same records.
 */

export type OperationKind = "write" | "read";

/** The value of a key nobody has written yet. */
export const initialValue = null;

export interface WriteOperation {
  readonly client: number;
  readonly call: number;
  /** Tick the client learned the outcome; Infinity while indeterminate. */
  readonly return: number;
  readonly op: "write";
  readonly key: string;
  readonly value: string;
  readonly indeterminate: boolean;
}

export interface ReadOperation {
  readonly client: number;
  readonly call: number;
  readonly return: number;
  readonly op: "read";
  readonly key: string;
  /** What the read saw; null for a key never written; undefined when indeterminate. */
  readonly output: string | null | undefined;
  readonly indeterminate: boolean;
}

export type Operation = WriteOperation | ReadOperation;

/** An operation the client has called and not yet seen the end of. */
interface PendingOperation {
  readonly client: number;
  readonly call: number;
  readonly op: OperationKind;
  readonly key: string;
  readonly value: string | undefined;
}

export interface HistoryRecorder {
  /** Starts an operation; returns its handle. */
  invoke(client: number, now: number, op: OperationKind, key: string, value?: string): number;
  /** The write took effect (ok) or the read returned `output`. */
  complete(handle: number, now: number, output?: string | null): void;
  /** The operation certainly did not take effect (e.g. the proposal was rejected). */
  fail(handle: number): void;
  /** The client gave up: the operation may or may not have taken effect. */
  timeOut(handle: number): void;
  pendingCount(): number;
  /** Every finished operation, in completion order; pending ones count as indeterminate. */
  operations(): Operation[];
}

export function createHistoryRecorder(): HistoryRecorder {
  const pending = new Map<number, PendingOperation>();
  const finished: Operation[] = [];
  let nextHandle = 1;

  const take = (handle: number): PendingOperation => {
    const operation = pending.get(handle);
    if (operation === undefined) {
      throw new Error(`history: operation handle ${handle} is not pending`);
    }
    pending.delete(handle);
    return operation;
  };
  const indeterminate = (operation: PendingOperation): Operation =>
    operation.op === "write"
      ? { ...base(operation, Infinity, true), op: "write", value: operation.value ?? "" }
      : { ...base(operation, Infinity, true), op: "read", output: undefined };

  return {
    invoke(client, now, op, key, value) {
      if (op === "write" && value === undefined) {
        throw new Error(`history: write to ${key} by client ${client} has no value`);
      }
      const handle = nextHandle++;
      pending.set(handle, { client, call: now, op, key, value });
      return handle;
    },
    complete(handle, now, output) {
      const operation = take(handle);
      if (now < operation.call) {
        throw new Error(
          `history: operation returns at ${now} before its call at ${operation.call}`,
        );
      }
      if (operation.op === "write") {
        finished.push({
          ...base(operation, now, false),
          op: "write",
          value: operation.value ?? "",
        });
      } else {
        if (output === undefined)
          throw new Error(`history: read of ${operation.key} has no output`);
        finished.push({ ...base(operation, now, false), op: "read", output });
      }
    },
    fail(handle) {
      take(handle);
    },
    timeOut(handle) {
      finished.push(indeterminate(take(handle)));
    },
    pendingCount: () => pending.size,
    operations: () => [...finished, ...[...pending.values()].map(indeterminate)],
  };
}

function base(operation: PendingOperation, returnTick: number, isIndeterminate: boolean) {
  return {
    client: operation.client,
    call: operation.call,
    return: returnTick,
    key: operation.key,
    indeterminate: isIndeterminate,
  };
}

/** JSON form for `--history-out`: Infinity is not JSON, so an unknown return is null. */
export function historyToJson(operations: readonly Operation[]): string {
  const lines = operations.map((operation) => {
    const record: Record<string, unknown> = {
      client: operation.client,
      call: operation.call,
      return: Number.isFinite(operation.return) ? operation.return : null,
      op: operation.op,
      key: operation.key,
    };
    if (operation.op === "write") record["value"] = operation.value;
    else record["output"] = operation.indeterminate ? null : operation.output;
    record["indeterminate"] = operation.indeterminate;
    return "  " + JSON.stringify(record);
  });
  return `[\n${lines.join(",\n")}\n]\n`;
}

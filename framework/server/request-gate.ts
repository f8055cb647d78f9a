import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Admits client requests while the node runs and counts those in flight, so
 * a graceful shutdown can stop admitting and then wait for the rest.
 */
export interface RequestGate {
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Refuses new requests (Unavailable) from now on. */
  close(): void;
  /** Resolves when no admitted request is in flight, or after `limitMs`; says whether they all finished. */
  drained(limitMs: number): Promise<boolean>;
  inFlight(): number;
}

export function createRequestGate(): RequestGate {
  let open = true;
  let count = 0;
  let onIdle: (() => void) | undefined;
  return {
    async run(task) {
      if (!open) throw new ConnectError("node is shutting down", Code.Unavailable);
      count++;
      try {
        return await task();
      } finally {
        count--;
        if (count === 0) onIdle?.();
      }
    },
    close() {
      open = false;
    },
    inFlight: () => count,
    drained(limitMs) {
      if (count === 0) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), limitMs);
        onIdle = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
    },
  };
}

/// <reference lib="dom" />
import { ConnectError } from "@connectrpc/connect";
import type { NodeObservation } from "./cluster-model.js";
import type { NodeClients } from "./node-clients.js";

/** Polls NodeService.Status of every node; at most one call per node in flight. */
export interface ClusterPoller {
  stop(): void;
}

export interface ClusterPollerOptions {
  readonly clients: readonly NodeClients[];
  readonly intervalMs: number;
  /** Deadline of one Status call (below the interval keeps the view within a second). */
  readonly timeoutMs: number;
  readonly onObservations: (observations: readonly NodeObservation[]) => void;
}

export function startClusterPoller(options: ClusterPollerOptions): ClusterPoller {
  const observations = new Map<number, NodeObservation>(
    options.clients.map((client) => [
      client.nodeId,
      {
        nodeId: client.nodeId,
        address: client.address,
        status: undefined,
        lastAnswerAtMs: undefined,
        error: undefined,
      },
    ]),
  );
  const inFlight = new Set<number>();
  const publish = (): void => options.onObservations([...observations.values()]);
  const poll = (client: NodeClients): void => {
    if (inFlight.has(client.nodeId)) return;
    inFlight.add(client.nodeId);
    client.node
      .status({}, { timeoutMs: options.timeoutMs })
      .then(
        (status) => {
          const previous = observations.get(client.nodeId);
          if (previous !== undefined)
            observations.set(client.nodeId, {
              ...previous,
              status,
              lastAnswerAtMs: Date.now(),
              error: undefined,
            });
        },
        (error: unknown) => {
          const previous = observations.get(client.nodeId);
          if (previous !== undefined)
            observations.set(client.nodeId, { ...previous, error: describeError(error) });
        },
      )
      .finally(() => {
        inFlight.delete(client.nodeId);
        publish();
      });
  };
  const tick = (): void => options.clients.forEach(poll);
  tick();
  const timer = window.setInterval(tick, options.intervalMs);
  return { stop: () => window.clearInterval(timer) };
}

/** An error as the server (or the relay) said it: "[unavailable] n3 at …: ECONNREFUSED". */
export function describeError(error: unknown): string {
  const connectError = ConnectError.from(error);
  return connectError.message;
}

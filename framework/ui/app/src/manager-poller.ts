/// <reference lib="dom" />
// Polls the cluster manager's API (raftkit.v1.ClusterService) for the meta
// group's view: ListNodes and ListPartitions, asked of the page's own node
// first, then of the others (through the relay) while it fails. A node that
// answers `unimplemented` does not serve the API (no meta group in this
// cluster): the page then keeps its own reading of the Status polls and asks
// again only every few seconds.
import { Code, ConnectError } from "@connectrpc/connect";
import { describeError } from "./cluster-poller.js";
import type { ManagerReading } from "./manager-table.js";
import { managerTableOf } from "./manager-table.js";
import type { NodeClients } from "./node-clients.js";

export interface ManagerPollerOptions {
  readonly clients: readonly NodeClients[];
  readonly selfNodeId: number;
  readonly intervalMs: number;
  /** Between rounds while the API is not served (a node restarted with it shows up again). */
  readonly notServedIntervalMs: number;
  readonly timeoutMs: number;
  readonly onReading: (reading: ManagerReading) => void;
}

export interface ManagerPoller {
  stop(): void;
}

export function startManagerPoller(options: ManagerPollerOptions): ManagerPoller {
  // The page's node first: no relay hop, and it is the node the operator opened.
  const ordered = [
    ...options.clients.filter((client) => client.nodeId === options.selfNodeId),
    ...options.clients.filter((client) => client.nodeId !== options.selfNodeId),
  ];
  let reading: ManagerReading = {
    table: undefined,
    answeredAtMs: undefined,
    error: undefined,
    notServed: false,
  };
  let stopped = false;
  let timer: number | undefined;
  const round = async (): Promise<void> => {
    reading = await askManagerInTurn(ordered, options.timeoutMs, reading);
    if (stopped) return;
    options.onReading(reading);
    const delay = reading.notServed ? options.notServedIntervalMs : options.intervalMs;
    timer = window.setTimeout(() => void round(), delay);
  };
  void round();
  return {
    stop: () => {
      stopped = true;
      window.clearTimeout(timer);
    },
  };
}

/**
 * One round: the first node (in `ordered`: the page's own first) that answers both calls wins;
 * at most one call pair in flight. @internal (exported for tests)
 */
export async function askManagerInTurn(
  ordered: readonly NodeClients[],
  timeoutMs: number,
  previous: ManagerReading,
): Promise<ManagerReading> {
  const errors: string[] = [];
  for (const [index, client] of ordered.entries()) {
    try {
      const [nodes, partitions] = await Promise.all([
        client.cluster.listNodes({}, { timeoutMs }),
        client.cluster.listPartitions({}, { timeoutMs }),
      ]);
      return {
        table: managerTableOf(client.nodeId, nodes.nodes, partitions.partitions),
        answeredAtMs: Date.now(),
        error: undefined,
        notServed: false,
      };
    } catch (error) {
      const code = ConnectError.from(error).code;
      errors.push(`n${client.nodeId}: ${describeError(error)}`);
      // The page's node does not serve the API: the others run the same code; do not ask them.
      if (index === 0 && code === Code.Unimplemented)
        return { ...previous, error: errors.join("; "), notServed: true };
    }
  }
  return { ...previous, error: errors.join("; "), notServed: false };
}

/// <reference lib="dom" />
import { useEffect, useState } from "preact/hooks";
import type { NodeObservation } from "./cluster-model.js";
import { startClusterPoller } from "./cluster-poller.js";
import type { ManagerReading } from "./manager-table.js";
import { startManagerPoller } from "./manager-poller.js";
import type { NodeClients } from "./node-clients.js";

/** Status of every node every 500 ms, each call bounded by 900 ms: the view is at most ~1 s old. */
export const pollIntervalMs = 500;
const pollTimeoutMs = 900;
/** Between ClusterService rounds while the nodes do not serve it. */
const notServedIntervalMs = 5000;

export interface ClusterReadings {
  readonly observations: readonly NodeObservation[];
  /** Undefined until the first ClusterService round ends. */
  readonly reading: ManagerReading | undefined;
  /** When the Status polls last published (0: not yet). */
  readonly updatedAtMs: number;
}

/** Both pollers — every node's Status and the cluster manager's table — while shown. */
export function useClusterReadings(
  clients: readonly NodeClients[],
  selfNodeId: number,
): ClusterReadings {
  const [observations, setObservations] = useState<readonly NodeObservation[]>([]);
  const [reading, setReading] = useState<ManagerReading | undefined>(undefined);
  const [updatedAtMs, setUpdatedAtMs] = useState(0);
  useEffect(() => {
    const poller = startClusterPoller({
      clients,
      intervalMs: pollIntervalMs,
      timeoutMs: pollTimeoutMs,
      onObservations: (next) => {
        setObservations(next);
        setUpdatedAtMs(Date.now());
      },
    });
    const manager = startManagerPoller({
      clients,
      selfNodeId,
      intervalMs: pollIntervalMs,
      notServedIntervalMs,
      timeoutMs: pollTimeoutMs,
      onReading: setReading,
    });
    return () => {
      poller.stop();
      manager.stop();
    };
  }, [clients, selfNodeId]);
  return { observations, reading, updatedAtMs };
}

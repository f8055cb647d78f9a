/// <reference lib="dom" />
import { h } from "preact";
import type { ComponentChild } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { NodeObservation, NodeRow, PartitionRow } from "../cluster-model.js";
import { buildClusterModel } from "../cluster-model.js";
import { startClusterPoller } from "../cluster-poller.js";
import type { ManagerReading } from "../manager-table.js";
import { stateSourceText, tableInUse } from "../manager-table.js";
import { startManagerPoller } from "../manager-poller.js";
import type { NodeClients } from "../node-clients.js";
import { DrainDialog } from "./drain-dialog.js";
import { NodesTable } from "./nodes-table.js";
import { PartitionsTable } from "./partitions-table.js";
import { TransferDialog } from "./transfer-dialog.js";

/** Status of every node every 500 ms, each call bounded by 900 ms: the view is at most ~1 s old. */
const pollIntervalMs = 500;
const pollTimeoutMs = 900;
/** A node that has not answered for this long is shown dead (before: suspect). */
const deadAfterMs = 3000;
/** Between ClusterService rounds while the nodes do not serve it. */
const notServedIntervalMs = 5000;

export function ClusterView(props: {
  readonly clients: readonly NodeClients[];
  readonly selfNodeId: number;
  readonly metaGroupId: number;
}): ComponentChild {
  const [observations, setObservations] = useState<readonly NodeObservation[]>([]);
  const [reading, setReading] = useState<ManagerReading | undefined>(undefined);
  const [updatedAtMs, setUpdatedAtMs] = useState(0);
  const [transferring, setTransferring] = useState<PartitionRow | undefined>(undefined);
  const [draining, setDraining] = useState<NodeRow | undefined>(undefined);
  useEffect(() => {
    const poller = startClusterPoller({
      clients: props.clients,
      intervalMs: pollIntervalMs,
      timeoutMs: pollTimeoutMs,
      onObservations: (next) => {
        setObservations(next);
        setUpdatedAtMs(Date.now());
      },
    });
    const manager = startManagerPoller({
      clients: props.clients,
      selfNodeId: props.selfNodeId,
      intervalMs: pollIntervalMs,
      notServedIntervalMs,
      timeoutMs: pollTimeoutMs,
      onReading: setReading,
    });
    return () => {
      poller.stop();
      manager.stop();
    };
  }, [props.clients]);
  const table = tableInUse(reading, updatedAtMs, deadAfterMs);
  const model = buildClusterModel(observations, updatedAtMs, deadAfterMs, table);
  const liveTransfer =
    transferring && model.partitions.find((row) => row.groupId === transferring.groupId);
  const liveDrain = draining && model.nodes.find((row) => row.nodeId === draining.nodeId);
  const managerNodeId = table?.viaNodeId ?? props.selfNodeId;
  return h(
    "div",
    { class: "cluster" },
    h(
      "p",
      { class: "muted", "aria-live": "off" },
      updatedAtMs === 0
        ? "asking every node for its status…"
        : `updated ${new Date(updatedAtMs).toLocaleTimeString()} · every ${pollIntervalMs} ms`,
    ),
    h(
      "p",
      { class: "muted", "data-testid": "state-source", "data-source": model.source.kind },
      stateSourceText(reading, table),
    ),
    h(
      "div",
      { class: "scroll" },
      h(NodesTable, { nodes: model.nodes, selfNodeId: props.selfNodeId, onDrain: setDraining }),
    ),
    h(PartitionsTable, {
      partitions: model.partitions,
      metaGroupId: props.metaGroupId,
      onTransfer: setTransferring,
    }),
    transferring === undefined
      ? null
      : h(TransferDialog, {
          partition: liveTransfer ?? transferring,
          clients: props.clients,
          onClose: () => setTransferring(undefined),
        }),
    draining === undefined
      ? null
      : h(DrainDialog, {
          node: liveDrain ?? draining,
          manager: props.clients.find((client) => client.nodeId === managerNodeId),
          onClose: () => setDraining(undefined),
        }),
  );
}

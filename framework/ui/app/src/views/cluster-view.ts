/// <reference lib="dom" />
import { h } from "preact";
import type { ComponentChild } from "preact";
import { useState } from "preact/hooks";
import type { NodeRow, PartitionRow } from "../cluster-model.js";
import { buildClusterModel } from "../cluster-model.js";
import { stateSourceText, tableInUse } from "../manager-table.js";
import type { NodeClients } from "../node-clients.js";
import { pollIntervalMs, useClusterReadings } from "../use-cluster-readings.js";
import { DrainDialog } from "./drain-dialog.js";
import { NodesTable } from "./nodes-table.js";
import { PartitionsTable } from "./partitions-table.js";
import { TransferDialog } from "./transfer-dialog.js";

/** A node that has not answered for this long is shown dead (before: suspect). */
const deadAfterMs = 3000;

export function ClusterView(props: {
  readonly clients: readonly NodeClients[];
  readonly selfNodeId: number;
  readonly metaGroupId: number;
}): ComponentChild {
  const { observations, reading, updatedAtMs } = useClusterReadings(
    props.clients,
    props.selfNodeId,
  );
  const [transferring, setTransferring] = useState<PartitionRow | undefined>(undefined);
  const [draining, setDraining] = useState<NodeRow | undefined>(undefined);
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

/// <reference lib="dom" />
import { h } from "preact";
import type { ComponentChild } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { NodeObservation, PartitionRow } from "../cluster-model.js";
import { buildClusterModel } from "../cluster-model.js";
import { startClusterPoller } from "../cluster-poller.js";
import type { NodeClients } from "../node-clients.js";
import { NodesTable } from "./nodes-table.js";
import { PartitionsTable } from "./partitions-table.js";
import { TransferDialog } from "./transfer-dialog.js";

/** Status of every node every 500 ms, each call bounded by 900 ms: the view is at most ~1 s old. */
const pollIntervalMs = 500;
const pollTimeoutMs = 900;
/** A node that has not answered for this long is shown dead (before: suspect). */
const deadAfterMs = 3000;

export function ClusterView(props: {
  readonly clients: readonly NodeClients[];
  readonly selfNodeId: number;
}): ComponentChild {
  const [observations, setObservations] = useState<readonly NodeObservation[]>([]);
  const [updatedAtMs, setUpdatedAtMs] = useState(0);
  const [transferring, setTransferring] = useState<PartitionRow | undefined>(undefined);
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
    return () => poller.stop();
  }, [props.clients]);
  const model = buildClusterModel(observations, updatedAtMs, deadAfterMs);
  const live =
    transferring === undefined
      ? null
      : model.partitions.find((row) => row.groupId === transferring.groupId);
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
      "div",
      { class: "scroll" },
      h(NodesTable, { nodes: model.nodes, selfNodeId: props.selfNodeId }),
    ),
    h(PartitionsTable, { partitions: model.partitions, onTransfer: setTransferring }),
    transferring === undefined
      ? null
      : h(TransferDialog, {
          partition: live ?? transferring,
          clients: props.clients,
          onClose: () => setTransferring(undefined),
        }),
  );
}

/// <reference lib="dom" />
import { h } from "preact";
import type { ComponentChild } from "preact";
import type { NodeRow } from "../cluster-model.js";
import { nodeStateOf } from "../manager-table.js";
import type { NodeClients } from "../node-clients.js";
import { ConfirmDialog } from "./confirm-dialog.js";

export interface DrainDialogProps {
  /** The node as the view shows it now (its leaderships and replicas update while open). */
  readonly node: NodeRow;
  /** The node whose ClusterService the page reads (its own node when none answers). */
  readonly manager: NodeClients | undefined;
  readonly onClose: () => void;
}

/** Asks the cluster manager to drain a node (ClusterService.DrainNode). */
export function DrainDialog(props: DrainDialogProps): ComponentChild {
  const { node, manager } = props;
  const drain = async (): Promise<string> => {
    if (manager === undefined) throw new Error("no node of this page serves the cluster manager");
    const response = await manager.cluster.drainNode(
      { nodeId: BigInt(node.nodeId) },
      { timeoutMs: 5000 },
    );
    const state = response.node === undefined ? "unknown" : nodeStateOf(response.node.state);
    return (
      `n${node.nodeId} is ${state} (answered by n${manager.nodeId}); ` +
      "the tables show its replicas and leaderships leaving."
    );
  };
  return h(ConfirmDialog, {
    title: `Drain node n${node.nodeId}`,
    confirmLabel: "Drain",
    onConfirm: drain,
    onClose: props.onClose,
    children: [
      h(
        "p",
        null,
        `n${node.nodeId} (${node.address}) gets no new replicas; the cluster manager moves its ` +
          "replicas and leaderships to the other nodes. The process keeps running until you " +
          "stop it.",
      ),
      h(
        "p",
        { "data-testid": "drain-progress" },
        `Now: ${node.state} · ${node.partitionCount} partitions · ` +
          `${node.leaderCount} leaderships`,
      ),
    ],
  });
}

/// <reference lib="dom" />
import { h } from "preact";
import type { ComponentChild } from "preact";
import { useState } from "preact/hooks";
import type { PartitionRow } from "../cluster-model.js";
import type { NodeClients } from "../node-clients.js";
import { ConfirmDialog } from "./confirm-dialog.js";

export interface TransferDialogProps {
  readonly partition: PartitionRow;
  readonly clients: readonly NodeClients[];
  readonly onClose: () => void;
}

/** Asks a partition's leader to hand leadership to an alive replica (TransferLeadership). */
export function TransferDialog(props: TransferDialogProps): ComponentChild {
  const { partition } = props;
  const targets = partition.replicas
    .filter((replica) => replica.nodeId !== partition.leaderNodeId && replica.state === "alive")
    .map((replica) => replica.nodeId);
  const [target, setTarget] = useState(targets[0] ?? 0);
  const transfer = async (): Promise<string> => {
    const leader = props.clients.find((client) => client.nodeId === partition.leaderNodeId);
    if (leader === undefined)
      throw new Error(`the leader n${partition.leaderNodeId} is not a node this page knows`);
    if (target === 0) throw new Error("no alive replica to hand leadership to");
    await leader.node.transferLeadership(
      { groupId: BigInt(partition.groupId), toNodeId: BigInt(target) },
      { timeoutMs: 5000 },
    );
    return (
      `n${partition.leaderNodeId} was asked to hand partition ${partition.groupId} ` +
      `to n${target}; ` +
      "the table shows the new leader once it is elected."
    );
  };
  return h(ConfirmDialog, {
    title: `Transfer leadership of partition ${partition.groupId}`,
    confirmLabel: "Transfer",
    onConfirm: transfer,
    onClose: props.onClose,
    children: [
      h("p", null, `The leader is n${partition.leaderNodeId} (term ${partition.term}).`),
      h("label", { for: "transfer-target" }, "New leader "),
      h(
        "select",
        {
          id: "transfer-target",
          value: String(target),
          onChange: (event: Event) =>
            setTarget(
              Number(
                event.currentTarget instanceof HTMLSelectElement ? event.currentTarget.value : 0,
              ),
            ),
        },
        targets.map((nodeId) => h("option", { key: nodeId, value: String(nodeId) }, `n${nodeId}`)),
      ),
    ],
  });
}

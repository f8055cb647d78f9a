/// <reference lib="dom" />
import { h } from "preact";
import type { ComponentChild } from "preact";
import { useState } from "preact/hooks";
import type { PartitionRow, ReplicaRow } from "../cluster-model.js";
import { roleName } from "../format.js";

/** Rows rendered at once: a node may host thousands of groups; the filter finds the rest. */
const rowsShownMax = 200;

export interface PartitionsTableProps {
  readonly partitions: readonly PartitionRow[];
  readonly metaGroupId: number;
  readonly onTransfer: (partition: PartitionRow) => void;
}

export function PartitionsTable(props: PartitionsTableProps): ComponentChild {
  const [filter, setFilter] = useState("");
  const wanted = parseFilter(filter);
  const matching = props.partitions.filter(
    (partition) => wanted === undefined || wanted.has(partition.groupId),
  );
  const shown = matching.slice(0, rowsShownMax);
  return h(
    "section",
    { class: "partitions" },
    h(
      "div",
      { class: "toolbar" },
      h("label", { for: "partition-filter" }, "Partitions "),
      h("input", {
        id: "partition-filter",
        type: "search",
        inputMode: "numeric",
        placeholder: "e.g. 3 or 1-10",
        value: filter,
        onInput: (event: Event) => setFilter(inputValue(event)),
      }),
      h(
        "span",
        { class: "muted" },
        `showing ${shown.length} of ${matching.length}` +
          (matching.length === props.partitions.length
            ? ""
            : ` (${props.partitions.length} in all)`),
      ),
    ),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "data", "aria-label": "partitions" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            [
              "partition",
              "type",
              "leader",
              "term",
              "commit",
              "replicas: role · applied / last · snapshot · lag",
              "actions",
            ].map((title) => h("th", { scope: "col", key: title }, title)),
          ),
        ),
        h(
          "tbody",
          null,
          shown.map((partition) =>
            PartitionTableRow(partition, props.metaGroupId, props.onTransfer),
          ),
        ),
      ),
    ),
  );
}

function PartitionTableRow(
  partition: PartitionRow,
  metaGroupId: number,
  onTransfer: (partition: PartitionRow) => void,
): ComponentChild {
  const canTransfer =
    partition.leaderNodeId !== 0 &&
    partition.replicas.some(
      (replica) => replica.nodeId !== partition.leaderNodeId && replica.state === "alive",
    );
  return h(
    "tr",
    {
      key: partition.groupId,
      "data-group": partition.groupId,
      "data-leader": partition.leaderNodeId,
    },
    h("th", { scope: "row" }, partition.groupId),
    h(
      "td",
      null,
      partition.groupId === metaGroupId ? "meta group" : (partition.stateMachineType ?? "—"),
    ),
    h(
      "td",
      { "data-testid": `leader-${partition.groupId}` },
      partition.leaderNodeId === 0
        ? h("span", { class: "health suspect" }, "none")
        : `n${partition.leaderNodeId}`,
    ),
    h("td", { class: "number" }, partition.term),
    h("td", { class: "number" }, partition.commitIndex),
    h("td", null, h("ul", { class: "replicas" }, partition.replicas.map(ReplicaItem))),
    h(
      "td",
      null,
      h(
        "button",
        {
          type: "button",
          disabled: !canTransfer,
          onClick: () => onTransfer(partition),
          "aria-label": `transfer leadership of partition ${partition.groupId}`,
        },
        "Transfer…",
      ),
    ),
  );
}

function ReplicaItem(replica: ReplicaRow): ComponentChild {
  const down = replica.state !== "alive";
  return h(
    "li",
    { key: replica.nodeId, class: down ? `replica ${replica.state}` : "replica" },
    h("strong", null, `n${replica.nodeId}`),
    " ",
    replica.learner ? "learner " : null,
    down && replica.role === undefined ? replica.state : roleName(replica.role),
    replica.role === undefined
      ? null
      : ` · ${replica.appliedIndex} / ${replica.lastIndex}` +
          ` · ${replica.snapshotIndex} · ${replica.lag}`,
  );
}

/** "3", "1-10", "1,4,7-9" → the set of ids; "" or unreadable → everything. */
function parseFilter(text: string): ReadonlySet<number> | undefined {
  const ids = new Set<number>();
  for (const part of text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "")) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (range === null) return undefined;
    const first = Number(range[1]);
    const last = Math.min(Number(range[2] ?? range[1]), first + 100_000);
    for (let id = first; id <= last; id += 1) ids.add(id);
  }
  return ids.size === 0 ? undefined : ids;
}

function inputValue(event: Event): string {
  return event.currentTarget instanceof HTMLInputElement ? event.currentTarget.value : "";
}

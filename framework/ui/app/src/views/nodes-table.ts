/// <reference lib="dom" />
import { h } from "preact";
import type { ComponentChild } from "preact";
import type { NodeRow } from "../cluster-model.js";
import { formatBytes, formatDuration } from "../format.js";

export interface NodesTableProps {
  readonly nodes: readonly NodeRow[];
  readonly selfNodeId: number;
  readonly onDrain: (node: NodeRow) => void;
}

export function NodesTable(props: NodesTableProps): ComponentChild {
  return h(
    "table",
    { class: "data", "aria-label": "nodes" },
    h("caption", null, "Nodes"),
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        [
          "node",
          "address",
          "state",
          "partitions",
          "leaderships",
          "quiesced",
          "memory",
          "uptime",
          "actions",
        ].map((title) => h("th", { scope: "col", key: title }, title)),
      ),
    ),
    h(
      "tbody",
      null,
      props.nodes.map((node) =>
        NodeTableRow(node, node.nodeId === props.selfNodeId, props.onDrain),
      ),
    ),
  );
}

function NodeTableRow(
  node: NodeRow,
  self: boolean,
  onDrain: (node: NodeRow) => void,
): ComponentChild {
  // What the node itself said last is history once the page cannot reach it.
  const silent = node.health === "dead";
  return h(
    "tr",
    { key: node.nodeId, "data-node": node.nodeId, "data-health": node.state },
    h(
      "th",
      { scope: "row" },
      `n${node.nodeId}`,
      self ? h("span", { class: "tag" }, "this page") : null,
    ),
    h("td", null, node.address),
    h(
      "td",
      null,
      h(
        "span",
        { class: `health ${node.state}`, "data-testid": `health-n${node.nodeId}` },
        node.state,
      ),
      node.error === undefined ? null : h("div", { class: "error-text" }, node.error),
    ),
    h(
      "td",
      { class: "number", "data-testid": `partitions-n${node.nodeId}` },
      node.partitionCount,
    ),
    h("td", { class: "number", "data-testid": `leaderships-n${node.nodeId}` }, node.leaderCount),
    h("td", { class: "number" }, silent ? "—" : node.quiescedCount),
    h("td", { class: "number" }, silent ? "—" : formatBytes(node.rssBytes)),
    h("td", { class: "number" }, silent ? "—" : formatDuration(node.uptimeMs)),
    h(
      "td",
      null,
      h(
        "button",
        {
          type: "button",
          // Nothing left to ask of a node already leaving; errors of any other are the server's.
          disabled: node.state === "draining" || node.state === "removed",
          onClick: () => onDrain(node),
          "aria-label": `drain node n${node.nodeId}`,
        },
        "Drain…",
      ),
    ),
  );
}

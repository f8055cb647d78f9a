/// <reference lib="dom" />
import { h } from "preact";
import type { ComponentChild } from "preact";
import type { NodeRow } from "../cluster-model.js";
import { formatBytes, formatDuration } from "../format.js";

export function NodesTable(props: {
  readonly nodes: readonly NodeRow[];
  readonly selfNodeId: number;
}): ComponentChild {
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
        ].map((title) => h("th", { scope: "col", key: title }, title)),
      ),
    ),
    h(
      "tbody",
      null,
      props.nodes.map((node) => NodeTableRow(node, node.nodeId === props.selfNodeId)),
    ),
  );
}

function NodeTableRow(node: NodeRow, self: boolean): ComponentChild {
  return h(
    "tr",
    { key: node.nodeId, "data-node": node.nodeId, "data-health": node.health },
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
        { class: `health ${node.health}`, "data-testid": `health-n${node.nodeId}` },
        node.health,
      ),
      node.error === undefined ? null : h("div", { class: "error-text" }, node.error),
    ),
    // A dead node's last answer is history: only its leaderships (none) are known now.
    h("td", { class: "number" }, node.health === "dead" ? "—" : node.groupCount),
    h("td", { class: "number", "data-testid": `leaderships-n${node.nodeId}` }, node.leaderCount),
    h("td", { class: "number" }, node.health === "dead" ? "—" : node.quiescedCount),
    h("td", { class: "number" }, node.health === "dead" ? "—" : formatBytes(node.rssBytes)),
    h("td", { class: "number" }, node.health === "dead" ? "—" : formatDuration(node.uptimeMs)),
  );
}

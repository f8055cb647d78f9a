/// <reference lib="dom" />
import { h } from "preact";
import type { ComponentChild } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { NodeClients } from "./node-clients.js";
import { createNodeClients, fetchTopology } from "./node-clients.js";
import { ClusterView } from "./views/cluster-view.js";

interface Loaded {
  readonly selfNodeId: number;
  readonly clients: readonly NodeClients[];
}

export function App(): ComponentChild {
  const [loaded, setLoaded] = useState<Loaded | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    fetchTopology().then(
      (topology) => setLoaded({ selfNodeId: topology.nodeId, clients: createNodeClients(topology) }),
      (reason: unknown) => setError(String(reason)),
    );
  }, []);
  return h("div", { class: "app" },
    h("header", null,
      h("h1", null, "raftkit"),
      loaded === undefined ? null : h("span", { class: "muted" }, `served by n${loaded.selfNodeId}`),
      h("nav", { "aria-label": "views" }, h("a", { href: "#cluster", "aria-current": "page" }, "Cluster"))),
    h("main", null,
      error !== undefined ? h("p", { class: "error-text", role: "alert" }, error) :
        loaded === undefined ? h("p", { class: "muted" }, "loading…") :
          h(ClusterView, { clients: loaded.clients, selfNodeId: loaded.selfNodeId })));
}

/// <reference lib="dom" />
import { h } from "preact";
import type { ComponentChild } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { StreamCall } from "./event-store/leader-routing.js";
import { createStreamCall } from "./event-store/leader-routing.js";
import type { NodeClients } from "./node-clients.js";
import { createNodeClients, fetchTopology } from "./node-clients.js";
import type { Route } from "./route.js";
import { useRoute } from "./route.js";
import { ClusterView } from "./views/cluster-view.js";
import type { StreamMemory } from "./event-store/use-stream-states.js";
import { emptyStreamMemory } from "./event-store/use-stream-states.js";
import { EventStoreView } from "./views/event-store-view.js";

interface Loaded {
  readonly selfNodeId: number;
  readonly metaGroupId: number;
  readonly clients: readonly NodeClients[];
  readonly self: NodeClients;
  readonly streamCall: StreamCall;
}

export function App(): ComponentChild {
  const [loaded, setLoaded] = useState<Loaded | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const route = useRoute();
  const streamMemory = useRef<StreamMemory>(emptyStreamMemory);
  useEffect(() => {
    fetchTopology().then(
      (topology) => {
        const clients = createNodeClients(topology);
        const self = clients.find((client) => client.nodeId === topology.nodeId);
        if (self === undefined) {
          setError(`GET /ui/nodes.json: its own node n${topology.nodeId} is not in its list`);
          return;
        }
        setLoaded({
          selfNodeId: topology.nodeId,
          metaGroupId: topology.metaGroupId,
          clients,
          self,
          streamCall: createStreamCall(clients, topology.nodeId),
        });
      },
      (reason: unknown) => setError(String(reason)),
    );
  }, []);
  return h(
    "div",
    { class: "app" },
    h(
      "header",
      null,
      h("h1", null, "raftkit"),
      loaded === undefined
        ? null
        : h("span", { class: "muted" }, `served by n${loaded.selfNodeId}`),
      h(
        "nav",
        { "aria-label": "views" },
        h(
          "a",
          { href: "#cluster", "aria-current": route.view === "cluster" ? "page" : undefined },
          "Cluster",
        ),
        h(
          "a",
          { href: "#events", "aria-current": route.view === "events" ? "page" : undefined },
          "Event store",
        ),
      ),
    ),
    h(
      "main",
      null,
      error !== undefined
        ? h("p", { class: "error-text", role: "alert" }, error)
        : loaded === undefined
          ? h("p", { class: "muted" }, "loading…")
          : View(route, loaded, streamMemory),
    ),
  );
}

function View(
  route: Route,
  loaded: Loaded,
  streamMemory: { current: StreamMemory },
): ComponentChild {
  if (route.view === "cluster")
    return h(ClusterView, {
      clients: loaded.clients,
      selfNodeId: loaded.selfNodeId,
      metaGroupId: loaded.metaGroupId,
    });
  return h(EventStoreView, {
    call: loaded.streamCall,
    self: loaded.self,
    selected: route.stream,
    memory: streamMemory,
  });
}

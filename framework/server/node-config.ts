import type { NodeHostConfig } from "../host/index.js";
import type { TransportLimits } from "../transport/index.js";
import type { ClusterManagerSettings } from "./cluster-config.js";

/** Everything a node process needs to start; the CLI builds it from flags or a config file. */
export interface NodeConfig {
  /** This node's id (n1 → 1); its replica id in every group. */
  readonly nodeId: number;
  /** Interface to bind; 127.0.0.1 unless told otherwise. */
  readonly listenHost: string;
  /** 0 picks a free port. */
  readonly listenPort: number;
  /** Every other node of the cluster: id → "host:port". */
  readonly peers: ReadonlyMap<number, string>;
  readonly dataDirectory: string;
  /** Both ends of every peer stream must agree on it. */
  readonly clusterId: number;
  /** Groups started at boot with every node (this one and the peers) as voters. */
  readonly groups: readonly number[];
  /** State machine type of the boot groups. */
  readonly stateMachine: string;
  readonly host: Omit<NodeHostConfig, "nodeId">;
  readonly transport: Partial<TransportLimits>;
  /** How long a graceful shutdown waits for requests in flight. */
  readonly shutdownGraceMs: number;
  /**
   * The cluster manager (meta group, agent, controller; issue #9). On by
   * default when the node has peers or joins; `{ enabled: false }` keeps a
   * static partition table only.
   */
  readonly cluster?: Partial<ClusterManagerSettings>;
}

export function addressToUrl(address: string): string {
  return `http://${address}`;
}

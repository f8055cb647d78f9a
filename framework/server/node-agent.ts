/**
 * The node agent (issue #9): every node process beats to the meta group's
 * leader and learns the node registry from the answer — the addresses the
 * transport needs to reach nodes that joined after this one started. The
 * first beat of a node the registry does not know registers it, so a node
 * started with `--join host:port` of any member joins by beating.
 */
import type { Logger } from "../transport/index.js";
import type { LoopTimers } from "./loop-timers.js";
import { realLoopTimers } from "./loop-timers.js";
import type { PeerCalls } from "./peer-clients.js";

export interface NodeAgentOptions {
  readonly nodeId: number;
  /** This node's "host:port" as the others reach it. */
  readonly address: string;
  /** "host:port" of nodes to ask first (meta voters, --join addresses). */
  readonly seeds: readonly string[];
  readonly peers: PeerCalls;
  readonly intervalMs: number;
  readonly callTimeoutMs: number;
  /** A registered node's address (the transport resolves peers with it). */
  readonly learnAddress: (nodeId: number, address: string) => void;
  readonly logger: Logger;
  /** Real time unless given (the cluster simulator's virtual time). */
  readonly timers?: LoopTimers;
}

export interface NodeAgent {
  /** Beats the meta leader took so far. */
  acceptedBeats(): number;
  stop(): Promise<void>;
}

export function startNodeAgent(options: NodeAgentOptions): NodeAgent {
  const { peers, logger } = options;
  const timers = options.timers ?? realLoopTimers;
  let stopped = false;
  let accepted = 0;
  let target: string | undefined;
  let next = 0;
  const beat = async (): Promise<void> => {
    const address = target ?? options.seeds[next++ % options.seeds.length]!;
    const request = { nodeId: BigInt(options.nodeId), address: options.address };
    try {
      const timeoutMs = Math.min(options.callTimeoutMs, options.intervalMs * 2);
      const answer = await peers.of(address).agent.heartbeat(request, { timeoutMs });
      for (const node of answer.nodes) {
        const nodeId = Number(node.nodeId);
        if (nodeId !== options.nodeId) options.learnAddress(nodeId, node.address);
      }
      if (answer.accepted) {
        if (accepted === 0) logger.info("registered with the meta group", { metaLeader: address });
        accepted++;
        target = address;
      } else {
        target = answer.metaLeaderAddress === "" ? undefined : answer.metaLeaderAddress;
      }
    } catch (error) {
      if (target !== undefined) {
        logger.debug("heartbeat failed", { to: address, error: String(error) });
      }
      target = undefined;
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await beat();
      await timers.sleep(options.intervalMs);
    }
  })();
  return {
    acceptedBeats: () => accepted,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

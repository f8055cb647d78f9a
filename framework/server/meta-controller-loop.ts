/**
 * The controller loop of a node process (issue #9): runs only while this
 * node leads the meta group. A new leadership starts a fresh controller
 * (the failure detector's timers start then: an election never kills a
 * node). Heartbeats are taken here; a beat from a node the registry does
 * not know (or knows at another address) registers it.
 */
import { create } from "@bufbuild/protobuf";
import { RegisterNodeRequestSchema } from "../../gen/raftkit/v1/cluster_pb.js";
import type { Controller, MetaStateMachine, RoundReport } from "../cluster/index.js";
import { RegisterNode, createController, metaGroupId, nodeToWire } from "../cluster/index.js";
import type { NodeHost } from "../host/index.js";
import type { Logger } from "../transport/index.js";
import type { HeartbeatAnswer } from "./cluster-agent-service.js";
import type { ClusterManagerSettings } from "./cluster-config.js";
import type { MetaControllerEnvironment } from "./meta-controller-environment.js";
import { proposeMeta } from "./meta-controller-environment.js";
import type { LoopTimers } from "./loop-timers.js";
import { realLoopTimers } from "./loop-timers.js";
import { startPauseMonitor } from "./pause-monitor.js";

export interface ControllerLoop {
  onHeartbeat(nodeId: number, address: string): HeartbeatAnswer;
  /** Rounds run so far as leader, and the last report (for tests and logs). */
  rounds(): number;
  stop(): Promise<void>;
}

export interface ControllerLoopOptions {
  readonly host: NodeHost;
  readonly meta: MetaStateMachine;
  readonly environment: MetaControllerEnvironment;
  readonly settings: ClusterManagerSettings;
  readonly addressOf: (nodeId: number) => string | undefined;
  readonly logger: Logger;
  /** Real time unless given (the cluster simulator's virtual time). */
  readonly timers?: LoopTimers;
}

function logRound(logger: Logger, report: RoundReport): void {
  // roundAtMs: the time the round's decisions were based on (the loop's clock).
  const roundAtMs = Math.round(report.atMs);
  for (const transition of report.transitions) {
    const { nodeId, from, to } = transition;
    logger.info("node state", { nodeId, from, to, roundAtMs });
  }
  for (const action of report.actions) logger.info("rebalance step", { ...action, roundAtMs });
  for (const failure of report.failures) {
    const action =
      typeof failure.action === "string" ? failure.action : JSON.stringify(failure.action);
    logger.warn("rebalance step failed", { action, error: String(failure.error) });
  }
}

/** How often the pause monitor checks that this process runs, and the lateness it forgives. */
const pausePulseMs = 100;
const pauseToleranceMs = 400;

/** Pause between two hand-offs of the meta leadership (one election's worth). */
const handOffIntervalMs = 2_000;

/**
 * The meta group is no partition of its own table, so the planner never
 * moves its leadership: a meta leader on a draining node hands it to an
 * alive meta voter the leader hears from (lowest id). Returns whether it did.
 */
function maybeHandOffMetaLeadership(
  host: NodeHost,
  meta: MetaStateMachine,
  logger: Logger,
): boolean {
  const nodes = new Map(meta.table.nodes().map((node) => [node.nodeId, node]));
  if (nodes.get(host.nodeId)?.state !== "draining") return false;
  const status = host.status(metaGroupId);
  const to = [...status.confState.voters]
    .filter((id) => id !== host.nodeId && nodes.get(id)?.state === "alive")
    .filter((id) => status.progress.get(id)?.recentActive === true)
    .sort((a, b) => a - b)[0];
  if (to === undefined) return false;
  host.transferLeadership(metaGroupId, to);
  logger.info("meta leadership handed off: this node is draining", { from: host.nodeId, to });
  return true;
}

export function startControllerLoop(options: ControllerLoopOptions): ControllerLoop {
  const { host, meta, environment, settings, logger } = options;
  const timers = options.timers ?? realLoopTimers;
  const now = (): number => timers.now();
  let controller: Controller | undefined;
  let stopped = false;
  let rounds = 0;
  let handedOffAt = Number.NEGATIVE_INFINITY;
  const registering = new Set<number>();
  // A stall of this process is nobody's silence: the detector is told before it judges.
  const pauses = startPauseMonitor({
    timers, pulseMs: pausePulseMs, toleranceMs: pauseToleranceMs,
  });
  const leads = (): boolean => host.groupIds().includes(metaGroupId) && host.isLeader(metaGroupId);
  // A round plans on observations that take a while to gather; the meta leadership may
  // move meanwhile (a drain hands it off) and the new leader's controller starts acting.
  // Each step is taken only while this node still leads: two controllers executing the
  // same plan once added the same learner twice (and a second add_learner wiped the first).
  const fenced: MetaControllerEnvironment = {
    ...environment,
    execute: (action) => leads() ? environment.execute(action)
      : Promise.reject(new RangeError(`${action.kind} of partition ${action.partitionId}: no longer the meta leader, not taken`)),
  };
  const register = (nodeId: number, address: string): void => {
    const known = meta.table.nodes().find((node) => node.nodeId === nodeId);
    if ((known !== undefined && known.address === address) || registering.has(nodeId)) return;
    registering.add(nodeId);
    const request = create(RegisterNodeRequestSchema, { nodeId: BigInt(nodeId), address });
    proposeMeta(host, RegisterNode, request)
      .then(() => logger.info("node registered", { nodeId, address }))
      .catch((error: unknown) => {
        logger.warn("node registration failed", { nodeId, error: String(error) });
      })
      .finally(() => registering.delete(nodeId));
  };
  const round = async (): Promise<void> => {
    // Taken every round: a stall while not leading is no business of a later controller.
    const pauseMs = pauses.takePause(now());
    if (!leads()) {
      controller = undefined;
      return;
    }
    if (controller === undefined) {
      controller = createController({
        environment: fenced,
        detector: { suspectAfterMs: settings.suspectAfterMs, deadAfterMs: settings.deadAfterMs },
        limits: settings.limits,
        learnerStallMs: settings.learnerStallMs,
        leaderSettleMs: settings.leaderSettleMs,
        transferTimeoutMs: settings.transferTimeoutMs,
        rejoinAfterMs: settings.rejoinAfterMs,
      });
      controller.onLeadershipStart(now());
      logger.info("meta leader: controller started", { nodeId: host.nodeId });
    } else if (pauseMs > 0) {
      controller.onPause(pauseMs);
      logger.warn("controller: this process stood still; not counted as silence", { pauseMs });
    }
    controller.onHeartbeat(host.nodeId, now());
    logRound(logger, await controller.round(now()));
    if (!leads()) return;
    await environment.stopOrphans();
    const current = controller;
    const at = now();
    const mayJoin = (partition: number, nodeId: number): boolean =>
      current.mayJoin(partition, nodeId, at);
    if (!leads()) return;
    await environment.startMissingReplicas(at, mayJoin);
    rounds++;
    const handOffDue = now() - handedOffAt >= handOffIntervalMs;
    if (handOffDue && maybeHandOffMetaLeadership(host, meta, logger)) handedOffAt = now();
  };
  const loop = (async () => {
    while (!stopped) {
      await timers.sleep(settings.roundIntervalMs);
      if (stopped) break;
      try {
        await round();
      } catch (error) {
        // A round fails as a whole when the meta group lost its leader mid-way;
        // the next one starts over.
        logger.warn("controller round failed", { error: String(error) });
      }
    }
  })();
  return {
    onHeartbeat(nodeId, address) {
      if (controller === undefined || !leads()) {
        const leader = host.groupIds().includes(metaGroupId) ? host.status(metaGroupId).leader : 0;
        const leaderAddress = leader === host.nodeId ? "" : (options.addressOf(leader) ?? "");
        const metaLeaderAddress = leaderAddress.replace(/^http:\/\//, "");
        return { accepted: false, metaLeaderNodeId: BigInt(leader), metaLeaderAddress };
      }
      controller.onHeartbeat(nodeId, now());
      register(nodeId, address);
      return {
        accepted: true,
        metaLeaderNodeId: BigInt(host.nodeId),
        nodes: meta.table.nodes().map(nodeToWire),
      };
    },
    rounds: () => rounds,
    async stop() {
      stopped = true;
      await Promise.all([loop, pauses.stop()]);
    },
  };
}

/**
 * Failure detection on the meta leader (issue #9). Nodes heartbeat the
 * leader; a node unheard for `suspectAfterMs` becomes suspect, unheard for
 * `deadAfterMs` dead, heard again alive. Suspect is the suspicion period: a
 * merely slow node is reported suspect (nothing moves) and returns to alive
 * with its next heartbeat; only dead triggers re-replication.
 *
 * Time is passed in (the controller's injected clock), so every decision
 * replays in a test. A new leader knows no history: it starts every node's
 * timer at its own start (`reset`), so an election never kills a node.
 */
import { assert } from "../raft/index.js";
import type { NodeState } from "./cluster-manager.js";

export interface FailureDetectorConfig {
  /** Unheard this long (ms): suspect. */
  readonly suspectAfterMs: number;
  /** Unheard this long (ms): dead. Greater than suspectAfterMs. */
  readonly deadAfterMs: number;
}

export interface NodeTransition {
  readonly nodeId: number;
  readonly from: NodeState;
  readonly to: NodeState;
}

export interface FailureDetector {
  /** Forgets history: every node listed counts as heard at `nowMs` (leadership start). */
  reset(nodeIds: readonly number[], nowMs: number): void;
  onHeartbeat(nodeId: number, nowMs: number): void;
  /**
   * This process itself stood still for `pauseMs` (its event loop blocked):
   * no beat could be taken meanwhile, so that time counts as nobody's
   * silence — every node's timer moves forward by it. Without this, a meta
   * leader that stalls for the dead timeout declares every node dead at its
   * next round, before the beats queued during the stall are read.
   */
  onPause(pauseMs: number): void;
  /**
   * The state each watched node should be in at `nowMs`, for nodes whose
   * `current` state differs. Only alive/suspect/dead are decided here;
   * draining and removed nodes are left alone (an operator's decision).
   */
  evaluate(current: ReadonlyMap<number, NodeState>, nowMs: number): NodeTransition[];
  lastHeardMs(nodeId: number): number | undefined;
}

export function checkFailureDetectorConfig(config: FailureDetectorConfig): void {
  assert(config.suspectAfterMs > 0, `suspectAfterMs = ${config.suspectAfterMs}, allowed > 0`);
  assert(
    config.deadAfterMs > config.suspectAfterMs,
    `deadAfterMs = ${config.deadAfterMs}, allowed > suspectAfterMs (${config.suspectAfterMs})`,
  );
}

function decide(silentMs: number, config: FailureDetectorConfig): NodeState {
  if (silentMs >= config.deadAfterMs) return "dead";
  if (silentMs >= config.suspectAfterMs) return "suspect";
  return "alive";
}

export function createFailureDetector(config: FailureDetectorConfig): FailureDetector {
  checkFailureDetectorConfig(config);
  const heard = new Map<number, number>();
  return {
    reset(nodeIds, nowMs) {
      heard.clear();
      for (const nodeId of nodeIds) heard.set(nodeId, nowMs);
    },
    onHeartbeat(nodeId, nowMs) {
      const previous = heard.get(nodeId);
      if (previous === undefined || previous < nowMs) heard.set(nodeId, nowMs);
    },
    onPause(pauseMs) {
      assert(Number.isFinite(pauseMs) && pauseMs >= 0, `pauseMs = ${pauseMs}, allowed ≥ 0`);
      for (const [nodeId, last] of heard) heard.set(nodeId, last + pauseMs);
    },
    evaluate(current, nowMs) {
      const transitions: NodeTransition[] = [];
      for (const [nodeId, from] of [...current].sort((a, b) => a[0] - b[0])) {
        if (from !== "alive" && from !== "suspect" && from !== "dead") continue;
        const last = heard.get(nodeId);
        // Never heard since this leader started watching: its timer starts now.
        if (last === undefined) {
          heard.set(nodeId, nowMs);
          continue;
        }
        const to = decide(nowMs - last, config);
        if (to !== from) transitions.push({ nodeId, from, to });
      }
      return transitions;
    },
    lastHeardMs: (nodeId) => heard.get(nodeId),
  };
}

/**
 * Learners that never catch up (issue #9): the controller remembers, per
 * learner, the smallest lag its group's leader reported and since when. A
 * learner whose lag reached no new low for `stallMs` (and never came within
 * catchUpLagMax) is stalled: the planner removes it, and the group's repair
 * adds a fresh replica (wiping a stale one on that node first). A learner
 * still streaming its snapshot or log makes its lag fall, which restarts the
 * clock. Time is passed in; a new meta leader starts with no history.
 */
import { assert } from "../raft/index.js";
import type { GroupObservation } from "./rebalance-types.js";

export interface LearnerWatch {
  /** Records this round's lags; returns the observations with `stalledLearners` filled in. */
  observe(observations: readonly GroupObservation[], nowMs: number): GroupObservation[];
}

interface Progress {
  readonly bestLag: number;
  readonly sinceMs: number;
}

export function createLearnerWatch(stallMs: number, catchUpLagMax: number): LearnerWatch {
  assert(Number.isFinite(stallMs) && stallMs > 0, `learner stallMs = ${stallMs}, allowed > 0`);
  let progress = new Map<string, Progress>();
  return {
    observe(observations, nowMs) {
      const next = new Map<string, Progress>();
      const result = observations.map((group) => {
        const stalled = new Set<number>();
        for (const learner of group.learners) {
          const key = `${group.partitionId}/${learner}`;
          const lag = group.lag.get(learner) ?? Number.POSITIVE_INFINITY;
          const seen = progress.get(key);
          const advanced = seen === undefined || lag < seen.bestLag || lag <= catchUpLagMax;
          const entry = advanced ? { bestLag: lag, sinceMs: nowMs } : seen;
          next.set(key, entry);
          if (nowMs - entry.sinceMs >= stallMs) stalled.add(learner);
        }
        return stalled.size === 0 ? group : { ...group, stalledLearners: stalled };
      });
      // Learners gone from their group (promoted, removed) are forgotten.
      progress = next;
      return result;
    },
  };
}

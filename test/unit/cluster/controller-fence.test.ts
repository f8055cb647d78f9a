/**
 * The controller fence's bookkeeping (issue #9), deterministic: a node's
 * agent admits controller calls whose meta term is not older than the
 * newest it has seen, refuses the others with `stale_controller`.
 */
import { describe, expect, it } from "vitest";
import {
  ClusterErrorCode,
  createFenceKeeper,
  isClusterError,
} from "../../../framework/cluster/index.js";

function refusal(run: () => void): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("controller fence keeper", () => {
  it("admits a controller's calls in its term and after it a newer one's", () => {
    const keeper = createFenceKeeper();
    keeper.admit({ metaTerm: 3, leaderNodeId: 1 });
    keeper.admit({ metaTerm: 3, leaderNodeId: 1 });
    expect(keeper.newest()).toEqual({ metaTerm: 3, leaderNodeId: 1 });
    keeper.admit({ metaTerm: 5, leaderNodeId: 2 });
    expect(keeper.newest()).toEqual({ metaTerm: 5, leaderNodeId: 2 });
  });

  it("refuses a deposed controller once a newer one called, naming both", () => {
    const keeper = createFenceKeeper();
    keeper.admit({ metaTerm: 3, leaderNodeId: 1 });
    keeper.admit({ metaTerm: 4, leaderNodeId: 2 });
    const error = refusal(() => keeper.admit({ metaTerm: 3, leaderNodeId: 1 }));
    expect(isClusterError(error, ClusterErrorCode.StaleController)).toBe(true);
    expect(String(error)).toContain("node 1 at meta term 3 refused");
    expect(String(error)).toContain("meta term 4 (node 2)");
    // The refusal changes nothing: the newer controller still passes.
    keeper.admit({ metaTerm: 4, leaderNodeId: 2 });
    expect(keeper.newest()).toEqual({ metaTerm: 4, leaderNodeId: 2 });
  });

  it("refuses a second leader of the same term (raft elects one per term)", () => {
    const keeper = createFenceKeeper();
    keeper.admit({ metaTerm: 7, leaderNodeId: 2 });
    const error = refusal(() => keeper.admit({ metaTerm: 7, leaderNodeId: 3 }));
    expect(isClusterError(error, ClusterErrorCode.StaleController)).toBe(true);
    expect(String(error)).toContain("node 2 called as the leader of the same term");
  });

  it("counts a term learnt from the node's own meta replica", () => {
    const keeper = createFenceKeeper();
    keeper.admit({ metaTerm: 2, leaderNodeId: 1 });
    keeper.learnTerm(4);
    keeper.learnTerm(3); // never lowers
    expect(keeper.newest()).toEqual({ metaTerm: 4, leaderNodeId: 0 });
    const error = refusal(() => keeper.admit({ metaTerm: 3, leaderNodeId: 1 }));
    expect(isClusterError(error, ClusterErrorCode.StaleController)).toBe(true);
    expect(String(error)).toContain("this node has seen meta term 4");
    // The leader of the learnt term is the first to call with it.
    keeper.admit({ metaTerm: 4, leaderNodeId: 3 });
    expect(keeper.newest()).toEqual({ metaTerm: 4, leaderNodeId: 3 });
    expect(isClusterError(refusal(() => keeper.admit({ metaTerm: 4, leaderNodeId: 1 })))).toBe(true);
  });

  it("rejects a malformed fence as an invalid argument, naming the bad value", () => {
    const keeper = createFenceKeeper();
    for (const [fence, text] of [
      [{ metaTerm: 0, leaderNodeId: 1 }, "meta term 0, allowed an integer ≥ 1"],
      [{ metaTerm: 1.5, leaderNodeId: 1 }, "meta term 1.5"],
      [{ metaTerm: 2, leaderNodeId: -1 }, "meta leader node id -1, allowed an integer ≥ 1"],
    ] as const) {
      const error = refusal(() => keeper.admit(fence));
      expect(isClusterError(error, ClusterErrorCode.InvalidArgument)).toBe(true);
      expect(String(error)).toContain(text);
    }
    expect(keeper.newest()).toEqual({ metaTerm: 0, leaderNodeId: 0 });
  });
});

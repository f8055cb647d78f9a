/** A planned membership step as the raft conf change that carries it out (one node at a time). */
import type { ConfChange } from "../raft/index.js";
import { ConfChangeTransition, ConfChangeType } from "../raft/index.js";
import type { RebalanceAction } from "./rebalance-types.js";

const types = {
  add_learner: ConfChangeType.AddLearner,
  promote: ConfChangeType.AddVoter,
  remove: ConfChangeType.RemoveNode,
} as const;

/** The conf change of a membership action; undefined for a leadership transfer. */
export function confChangeOf(action: RebalanceAction): ConfChange | undefined {
  if (action.kind === "transfer_leadership") return undefined;
  return {
    transition: ConfChangeTransition.Auto,
    changes: [{ type: types[action.kind], nodeId: action.nodeId }],
    context: new Uint8Array(0),
  };
}

import type { ConfChange, RaftConfig, RaftNode } from "../../framework/raft/index.js";
import { createRaftNode, decodeConfChange, encodeConfChange } from "../../framework/raft/index.js";

/**
 * What the simulator uses of the raft core, in one place: the simulator takes
 * it as a parameter, so a test can hand it a deliberately broken core and see
 * the checks fire.
 */
export interface RaftCore {
  createRaftNode(config: RaftConfig): RaftNode;
  encodeConfChange(change: ConfChange): Uint8Array;
  decodeConfChange(data: Uint8Array): ConfChange;
}

export const raftCore: RaftCore = { createRaftNode, encodeConfChange, decodeConfChange };

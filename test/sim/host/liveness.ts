import { Role } from "../../../framework/raft/index.js";
import type { World } from "./host-world.js";

/**
 * Every group has a leader, and every member of its configuration runs the
 * group and has applied everything the leader knows committed.
 */
export function groupsConverged(world: World): boolean {
  for (const groupId of world.groups.keys()) {
    if (laggingMembers(world, groupId) !== "") return false;
  }
  return true;
}

/** "" when the group converged; otherwise what is missing. */
function laggingMembers(world: World, groupId: number): string {
  const leader = world.leader(groupId);
  if (leader === undefined) return "no leader";
  const status = leader.host.status(groupId);
  if (status.role !== Role.Leader) return "no leader";
  const { voters, learners } = status.confState;
  const lagging: string[] = [];
  for (const member of [...voters, ...learners]) {
    const replica = world.host(member, groupId);
    if (replica === undefined) {
      lagging.push(`${member}:down`);
      continue;
    }
    const applied = replica.host.status(groupId).appliedByStateMachine;
    if (applied < status.commit) lagging.push(`${member}:${applied}`);
  }
  return lagging.length === 0
    ? ""
    : `leader ${leader.nodeId} commit ${status.commit}, lagging ${lagging.join(" ")}`;
}

export function describeLiveness(world: World): string {
  const parts: string[] = [];
  for (const groupId of world.groups.keys()) {
    const lagging = laggingMembers(world, groupId);
    if (lagging !== "") parts.push(`g${groupId}: ${lagging}`);
  }
  const down = [...world.nodes.values()]
    .filter((node) => node.running === undefined)
    .map((node) => node.id);
  return (
    `${parts.length === 0 ? "every group converged" : parts.join("; ")}` +
    `${down.length > 0 ? `; down: ${down.join(",")}` : ""}`
  );
}

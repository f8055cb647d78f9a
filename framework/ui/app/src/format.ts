import { GroupRole } from "../gen/raftkit/v1/node_pb.js";

const roleNames: ReadonlyMap<GroupRole, string> = new Map([
  [GroupRole.LEADER, "leader"],
  [GroupRole.FOLLOWER, "follower"],
  [GroupRole.CANDIDATE, "candidate"],
  [GroupRole.PRE_CANDIDATE, "pre-candidate"],
  [GroupRole.UNSPECIFIED, "unknown"],
]);

export function roleName(role: GroupRole | undefined): string {
  return role === undefined ? "—" : (roleNames.get(role) ?? `role ${role}`);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min`;
}

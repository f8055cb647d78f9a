import { mkdir, open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { ServerError, ServerErrorCode } from "./errors.js";

/**
 * What a node keeps in its data directory besides the raft log and the
 * snapshots (docs/operations.md):
 *   node.json    which node and cluster the directory belongs to, written
 *                once; a node started with another id refuses it.
 *   groups.json  every group started here, its voters and state machine
 *                type, so a restart reopens them all from disk; and the
 *                ids of groups whose replica left this node ("departed").
 *   log/         framework/storage LogStore segments.
 *   snapshots/   framework/storage SnapshotStore, one folder per group.
 */
export interface GroupRecord {
  readonly groupId: number;
  readonly voters: readonly number[];
  readonly stateMachine: string;
  readonly join: boolean;
}

export interface DataDirectory {
  readonly logDirectory: string;
  readonly snapshotDirectory: string;
  readonly groups: ReadonlyMap<number, GroupRecord>;
  /** Adds records durably (write, fsync, rename) before the groups start. */
  recordGroups(records: readonly GroupRecord[]): Promise<void>;
  /**
   * Drops records durably (a replica moved away): the group is not reopened
   * at boot, and its id is kept in `departed`.
   */
  forgetGroups(groupIds: readonly number[]): Promise<void>;
  /**
   * Groups whose replica left this node (forgotten, not recorded again since):
   * a static `--groups` list does not start them afresh at boot — a fresh
   * bootstrap with the boot voters would be a second, conflicting history of
   * a group that lives on elsewhere.
   */
  readonly departed: ReadonlySet<number>;
}

export async function openDataDirectory(root: string, nodeId: number, clusterId: number): Promise<DataDirectory> {
  await mkdir(root, { recursive: true });
  await checkIdentity(root, nodeId, clusterId);
  const groups = new Map<number, GroupRecord>();
  const manifest = await readManifest(join(root, "groups.json"));
  for (const record of manifest.groups) groups.set(record.groupId, record);
  const departed = new Set(manifest.departed);
  let writes: Promise<void> = Promise.resolve();
  const persist = (): Promise<void> => {
    const content = { groups: [...groups.values()], departed: [...departed].sort((a, b) => a - b) };
    const snapshot = JSON.stringify(content, undefined, 1);
    // Serialized: a later write never lands before an earlier one.
    writes = writes.then(() => writeDurably(join(root, "groups.json"), snapshot));
    return writes;
  };
  return {
    logDirectory: join(root, "log"),
    snapshotDirectory: join(root, "snapshots"),
    groups,
    departed,
    recordGroups(records) {
      for (const record of records) {
        groups.set(record.groupId, record);
        departed.delete(record.groupId);
      }
      return persist();
    },
    forgetGroups(groupIds) {
      for (const groupId of groupIds) {
        groups.delete(groupId);
        departed.add(groupId);
      }
      return persist();
    },
  };
}

async function checkIdentity(root: string, nodeId: number, clusterId: number): Promise<void> {
  const path = join(root, "node.json");
  const existing = await readJson(path);
  if (existing === undefined) {
    await writeDurably(path, JSON.stringify({ nodeId, clusterId }));
    return;
  }
  const stored = existing as { nodeId?: unknown; clusterId?: unknown };
  if (stored.nodeId !== nodeId || stored.clusterId !== clusterId) {
    throw new ServerError(
      ServerErrorCode.DataDirectoryMismatch,
      `data directory ${root} belongs to node ${String(stored.nodeId)} of cluster ${String(stored.clusterId)}, ` +
        `not node ${nodeId} of cluster ${clusterId}`,
      { setting: "data" },
    );
  }
}

async function readManifest(path: string): Promise<{ groups: GroupRecord[]; departed: number[] }> {
  const parsed = await readJson(path);
  if (parsed === undefined) return { groups: [], departed: [] };
  const { groups, departed = [] } = parsed as { groups?: unknown; departed?: unknown };
  if (!Array.isArray(groups)) throw damaged(path, "no groups array");
  // Written before "departed" existed: none.
  if (!Array.isArray(departed) || !departed.every((id) => Number.isSafeInteger(id) && id > 0)) {
    throw damaged(path, `bad departed list ${JSON.stringify(departed)}, allowed group ids`);
  }
  return { groups: readGroups(path, groups), departed: departed as number[] };
}

function readGroups(path: string, groups: readonly unknown[]): GroupRecord[] {
  return groups.map((value: unknown) => {
    const record = value as Partial<GroupRecord>;
    const valid =
      Number.isSafeInteger(record.groupId) &&
      Array.isArray(record.voters) &&
      record.voters.every((id) => Number.isSafeInteger(id) && id > 0) &&
      typeof record.stateMachine === "string" &&
      typeof record.join === "boolean";
    if (!valid) throw damaged(path, `bad group record ${JSON.stringify(value)}`);
    return record as GroupRecord;
  });
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw damaged(path, String(error));
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw damaged(path, String(error));
  }
}

function damaged(path: string, why: string): ServerError {
  return new ServerError(ServerErrorCode.DataDirectoryDamaged, `${path}: ${why}`);
}

async function writeDurably(path: string, text: string): Promise<void> {
  const temporary = `${path}.tmp`;
  const file = await open(temporary, "w");
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  const directory = await open(join(path, ".."), "r");
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

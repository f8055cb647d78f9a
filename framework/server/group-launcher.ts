import type { GroupMembers, NodeHost } from "../host/index.js";
import { HostErrorCode, isHostError } from "../host/index.js";
import type { StateMachine } from "../statemachine/index.js";
import type { DataDirectory, GroupRecord } from "./data-directory.js";
import { ServerError, ServerErrorCode } from "./errors.js";
import type { StateMachineTypes } from "./state-machine-types.js";

export interface GroupLauncher {
  /**
   * Records the groups durably, then starts each on the host. Groups that
   * already run here are skipped (the call is idempotent).
   */
  startGroups(records: readonly GroupRecord[]): Promise<{ started: number[]; alreadyRunning: number[] }>;
  /** The state machine of a group started here. */
  machine(groupId: number): StateMachine | undefined;
  /**
   * Starts a group whose machine the caller made (its own partition table is
   * the source of truth: nothing is recorded in the data directory); the
   * gateway's typed form and Status digests see it like any other.
   */
  startAdopted(groupId: number, machine: StateMachine, members: GroupMembers, options: { join?: boolean }): Promise<void>;
  /**
   * Stops a group started here and forgets its record (it is not reopened at
   * boot); `removeData` also deletes its log and snapshots. Only for a
   * replica already out of the group's configuration. False when it did not run.
   */
  stopGroup(groupId: number, removeData: boolean): Promise<boolean>;
}

/** Groups being created at once (each writes a bootstrap snapshot file and log record). */
const startConcurrency = 64;

export interface GroupLauncherOptions {
  readonly nodeId: number;
  readonly host: NodeHost;
  readonly dataDirectory: DataDirectory;
  readonly types: StateMachineTypes;
  /**
   * Told each group's record (recorded type and voters, or the request's)
   * just before its state machine is made: what a factory may want to know
   * of a partition it has no other word of (startNodeFromContainer).
   */
  readonly onLaunch?: (record: GroupRecord) => void;
}

export function createGroupLauncher(options: GroupLauncherOptions): GroupLauncher {
  const { nodeId, host, dataDirectory, types } = options;
  const machines = new Map<number, StateMachine>();
  /** Claimed by a call in progress, so concurrent calls never start a group twice. */
  const claimed = new Set<number>();
  const startOne = async (record: GroupRecord): Promise<void> => {
    // Reopened from disk with the recorded members and type when it ran here before.
    const known = dataDirectory.groups.get(record.groupId) ?? record;
    const factory = types.get(known.stateMachine);
    if (factory === undefined) throw unknownType(known.stateMachine, types);
    options.onLaunch?.(known);
    const machine = factory(record.groupId, nodeId);
    await host.startGroup(record.groupId, machine, { voters: known.voters }, { join: known.join });
    machines.set(record.groupId, machine);
  };
  return {
    machine: (groupId) => machines.get(groupId),
    async stopGroup(groupId, removeData) {
      const running = host.groupIds().includes(groupId);
      if (dataDirectory.groups.has(groupId)) await dataDirectory.forgetGroups([groupId]);
      if (removeData) {
        await host.removeGroup(groupId).catch((error: unknown) => {
          // Nothing durable to remove (a join that never received its snapshot) is fine.
          if (!isHostError(error, HostErrorCode.GroupNotFound)) throw error;
        });
      } else if (running) {
        await host.stopGroup(groupId);
      }
      machines.delete(groupId);
      claimed.delete(groupId);
      return running;
    },
    async startAdopted(groupId, machine, members, startOptions) {
      if (claimed.has(groupId)) {
        throw new ServerError(ServerErrorCode.InvalidConfig, `group ${groupId} already runs on node ${nodeId}`, { setting: "group_ids" });
      }
      claimed.add(groupId);
      try {
        await host.startGroup(groupId, machine, members, startOptions);
      } catch (error) {
        claimed.delete(groupId);
        throw error;
      }
      machines.set(groupId, machine);
    },
    async startGroups(records) {
      for (const record of records) checkRecord(nodeId, record, types);
      const fresh: GroupRecord[] = [];
      for (const record of records) {
        if (claimed.has(record.groupId)) continue;
        claimed.add(record.groupId);
        fresh.push(record);
      }
      const unrecorded = fresh.filter((record) => !dataDirectory.groups.has(record.groupId));
      if (unrecorded.length > 0) await dataDirectory.recordGroups(unrecorded);
      const started: number[] = [];
      // Bounded concurrency: the log store folds the bootstraps of many groups into one durable commit.
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < fresh.length) {
          const record = fresh[next++]!;
          await startOne(record);
          started.push(record.groupId);
        }
      };
      try {
        await Promise.all(Array.from({ length: Math.min(startConcurrency, fresh.length) }, worker));
      } catch (error) {
        for (const { groupId } of fresh) if (!machines.has(groupId)) claimed.delete(groupId);
        throw error;
      }
      started.sort((a, b) => a - b);
      const freshIds = new Set(fresh.map((record) => record.groupId));
      const alreadyRunning = records.filter((record) => !freshIds.has(record.groupId)).map((record) => record.groupId);
      return { started, alreadyRunning };
    },
  };
}

function checkRecord(nodeId: number, record: GroupRecord, types: StateMachineTypes): void {
  const invalid = (setting: string, message: string): ServerError =>
    new ServerError(ServerErrorCode.InvalidConfig, message, { setting });
  if (!(Number.isSafeInteger(record.groupId) && record.groupId > 0)) {
    throw invalid("group_ids", `group id ${record.groupId}, allowed a positive integer`);
  }
  if (record.voters.length === 0 && !record.join) {
    throw invalid("voters", `group ${record.groupId}: no voters, allowed ≥ 1 node id`);
  }
  if (new Set(record.voters).size !== record.voters.length || record.voters.some((id) => !(id > 0))) {
    throw invalid("voters", `group ${record.groupId}: voters [${record.voters.join(", ")}], allowed distinct ids ≥ 1`);
  }
  if (!record.join && !record.voters.includes(nodeId)) {
    throw invalid(
      "voters",
      `group ${record.groupId}: voters [${record.voters.join(", ")}] do not include this node ${nodeId}` +
        " (a node added to a running group passes join)",
    );
  }
  if (!types.has(record.stateMachine)) throw unknownType(record.stateMachine, types);
}

function unknownType(name: string, types: StateMachineTypes): ServerError {
  return new ServerError(
    ServerErrorCode.InvalidConfig,
    `state machine type "${name}" is not registered, allowed: ${[...types.keys()].join(", ")}`,
    { setting: "state_machine" },
  );
}

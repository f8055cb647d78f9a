/** Several NodeHosts in one process over a MemoryNetwork, with memory "disks" that survive a restart. */
import {
  createMemoryLogStore,
  createMemorySnapshotStore,
  NodeHost,
} from "../../../framework/host/index.js";
import type { HostLogStore, HostSnapshotStore, NodeHostConfig } from "../../../framework/host/index.js";
import { createSeededRandom } from "../../../framework/raft/index.js";
import type { StateMachine } from "../../../framework/statemachine/index.js";
import type { Clock } from "../../../framework/transport/index.js";
import { createSilentLogger, createSystemClock } from "../../../framework/transport/index.js";
import { createKvStateMachine } from "./kv-state-machine.js";
import type { KvStateMachine } from "./kv-state-machine.js";
import { MemoryNetwork } from "./memory-network.js";

export interface Disk {
  readonly logStore: HostLogStore;
  readonly snapshotStore: HostSnapshotStore;
}

export class HostCluster {
  readonly network = new MemoryNetwork();
  readonly hosts = new Map<number, NodeHost>();
  readonly disks = new Map<number, Disk>();
  /** The hosts' wall clock: fixed unless a test moves it, so stamped times are known. */
  wallClockMs: () => number = () => 1_700_000_000_000;
  /** State machines by "node/group". */
  readonly machines = new Map<string, KvStateMachine>();

  constructor(
    readonly nodeIds: number[],
    private readonly config: Partial<NodeHostConfig> = {},
    disks?: Map<number, Disk>,
    /** The hosts' clock (ticks, deadlines): the system clock unless a test drives it. */
    private readonly clock: Clock = createSystemClock(),
  ) {
    for (const id of nodeIds) {
      this.disks.set(id, disks?.get(id) ?? { logStore: createMemoryLogStore(), snapshotStore: createMemorySnapshotStore() });
      this.startHost(id);
    }
  }

  /** Replaces a node's disk (a durable store reopened after a restart). */
  setDisk(id: number, disk: Disk): void {
    this.disks.set(id, disk);
  }

  startHost(id: number): NodeHost {
    const disk = this.disks.get(id)!;
    const host = new NodeHost(
      // Requests wait up to 30 s: a loaded CI box can stall the hosts for seconds; no test here measures time.
      { tickIntervalMs: 5, electionTicks: 10, heartbeatTicks: 2, requestTimeoutMs: 30_000, ...this.config, nodeId: id },
      {
        logStore: disk.logStore,
        snapshotStore: disk.snapshotStore,
        transport: this.network.transportFor(id),
        clock: this.clock,
        random: createSeededRandom(id * 7919),
        logger: createSilentLogger(),
        yieldToEventLoop: () => new Promise((resolve) => setImmediate(resolve)),
        wallClockMs: () => this.wallClockMs(),
      },
    );
    this.network.attach(id, host);
    host.start();
    this.hosts.set(id, host);
    return host;
  }

  async startGroup(groupId: number, on: number[] = this.nodeIds): Promise<void> {
    for (const id of on) await this.startReplica(id, groupId, on);
  }

  /** Starts a replica of a group with any state machine (the KV one by default: startReplica). */
  async startCustomReplica(id: number, groupId: number, voters: number[], machine: StateMachine): Promise<void> {
    await this.hosts.get(id)!.startGroup(groupId, machine, { voters });
  }

  /** The KV machines of startReplica declare packedCommands (several commands per entry). */
  packed = true;

  async startReplica(id: number, groupId: number, voters: number[], join = false): Promise<KvStateMachine> {
    const machine = createKvStateMachine({ packed: this.packed });
    this.machines.set(`${id}/${groupId}`, machine);
    await this.hosts.get(id)!.startGroup(groupId, machine, { voters }, { join });
    return machine;
  }

  /** Stops a host (its disk survives) and detaches it from the network. */
  async crash(id: number): Promise<void> {
    this.network.detach(id);
    await this.hosts.get(id)!.stop();
    this.hosts.delete(id);
  }

  async stopAll(): Promise<void> {
    for (const host of this.hosts.values()) await host.stop();
    this.hosts.clear();
  }

  leaderOf(groupId: number): number | undefined {
    for (const [id, host] of this.hosts) if (host.groupIds().includes(groupId) && host.isLeader(groupId)) return id;
    return undefined;
  }

  async waitForLeader(groupId: number, timeoutMs = 30_000): Promise<number> {
    let leader: number | undefined;
    await eventually(() => (leader = this.leaderOf(groupId)) !== undefined, timeoutMs, `leader of group ${groupId}`);
    return leader!;
  }

  machine(id: number, groupId: number): KvStateMachine {
    return this.machines.get(`${id}/${groupId}`)!;
  }
}

export async function eventually(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const bytes = (value: string): Uint8Array => new TextEncoder().encode(value);
export const text = (value: unknown): string => new TextDecoder().decode(value as Uint8Array);

import type { NodeId, RandomSource } from "../../framework/raft/index.js";

/** How unkind the network is; every rate is a probability in [0, 1]. */
export interface NetworkFaults {
  readonly dropRate: number;
  readonly duplicateRate: number;
  /** Delivery takes a uniform number of ticks in [delayMin, delayMax]; a wide range reorders. */
  readonly delayMin: number;
  readonly delayMax: number;
}

export const reliableNetwork: NetworkFaults = {
  dropRate: 0,
  duplicateRate: 0,
  delayMin: 0,
  delayMax: 1,
};

export type PartitionKind = "symmetric" | "one-way";

/** What the network decided for one message. */
export type SendDecision =
  | { readonly kind: "dropped"; readonly reason: "loss" | "partition" }
  | { readonly kind: "delivered"; readonly delays: readonly number[] };

/**
 * The simulated network: a directed link between two nodes is open or cut;
 * open links lose, duplicate and delay (hence reorder) messages at the rates
 * of the current fault mix. Partitions are sets of cut links, symmetric or
 * one-way; heal opens every link.
 */
export interface SimulatedNetwork {
  decide(from: NodeId, to: NodeId): SendDecision;
  /** A message in flight is lost if its link was cut after it was sent. */
  isCut(from: NodeId, to: NodeId): boolean;
  /** Cuts the links from every node of `sideA` to every node of `sideB` (and back if symmetric). */
  partition(sideA: readonly NodeId[], sideB: readonly NodeId[], kind: PartitionKind): void;
  /**
   * Puts `group` on an island of its own: its nodes talk to each other and
   * to nobody else until `reconnect` (targeted faults; each island heals on
   * its own timer, apart from the partitions above).
   */
  isolate(group: readonly NodeId[]): void;
  /** Brings the nodes of `group` back from their island; others stay where they are. */
  reconnect(group: readonly NodeId[]): void;
  /** Opens every link: partitions and islands. */
  heal(): void;
  setFaults(faults: NetworkFaults): void;
  faults(): NetworkFaults;
  cutLinkCount(): number;
}

export function createSimulatedNetwork(
  random: RandomSource,
  initial: NetworkFaults,
): SimulatedNetwork {
  let current = checkFaults(initial);
  const cut = new Set<string>();
  /** Node → island; nodes on no island are on the mainland. */
  const island = new Map<NodeId, number>();
  let islandsMade = 0;
  const link = (from: NodeId, to: NodeId): string => `${from}>${to}`;
  const severed = (from: NodeId, to: NodeId): boolean =>
    cut.has(link(from, to)) || island.get(from) !== island.get(to);
  const chance = (rate: number): boolean =>
    rate > 0 && random.nextInt(1_000_000) < rate * 1_000_000;
  const delay = (): number =>
    current.delayMin + random.nextInt(current.delayMax - current.delayMin + 1);

  return {
    decide(from, to) {
      if (severed(from, to)) return { kind: "dropped", reason: "partition" };
      if (chance(current.dropRate)) return { kind: "dropped", reason: "loss" };
      const delays = [delay()];
      if (chance(current.duplicateRate)) delays.push(delay());
      return { kind: "delivered", delays };
    },
    isCut: severed,
    partition(sideA, sideB, kind) {
      for (const a of sideA) {
        for (const b of sideB) {
          if (a === b) throw new Error(`network: node ${a} is on both sides of a partition`);
          cut.add(link(a, b));
          if (kind === "symmetric") cut.add(link(b, a));
        }
      }
    },
    isolate(group) {
      if (group.length === 0) throw new RangeError("network: isolate needs at least one node");
      islandsMade++;
      for (const node of group) island.set(node, islandsMade);
    },
    reconnect(group) {
      for (const node of group) island.delete(node);
    },
    heal() {
      cut.clear();
      island.clear();
    },
    setFaults(faults) {
      current = checkFaults(faults);
    },
    faults: () => current,
    cutLinkCount: () => cut.size,
  };
}

function checkFaults(faults: NetworkFaults): NetworkFaults {
  const rate = (name: string, value: number): void => {
    if (!(value >= 0 && value <= 1))
      throw new RangeError(`network ${name} = ${value}, allowed [0, 1]`);
  };
  rate("dropRate", faults.dropRate);
  rate("duplicateRate", faults.duplicateRate);
  if (!(Number.isInteger(faults.delayMin) && faults.delayMin >= 0)) {
    throw new RangeError(`network delayMin = ${faults.delayMin}, allowed an integer ≥ 0`);
  }
  if (!(Number.isInteger(faults.delayMax) && faults.delayMax >= faults.delayMin)) {
    throw new RangeError(
      `network delayMax = ${faults.delayMax}, allowed an integer ≥ delayMin (${faults.delayMin})`,
    );
  }
  return faults;
}

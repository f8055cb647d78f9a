/**
 * The faults of the cluster simulation, drawn once per driver tick from the
 * run's seed: a node crashes (at most two nodes down at once, counting the
 * one gone for good) or restarts, one node is cut off from the others or a
 * two/three split is made, the network heals, message loss changes.
 */
import type { NodeId, RandomSource } from "../../../framework/raft/index.js";
import type { NetworkFaults, SimulatedNetwork } from "../network.js";
import { chance } from "../nemesis.js";
import type { ClusterWorld } from "./cluster-world.js";

export interface ClusterNemesisTarget {
  readonly world: ClusterWorld;
  readonly network: SimulatedNetwork;
  readonly random: RandomSource;
  readonly nodeIds: readonly NodeId[];
  /** Never restarted. */
  readonly gone: NodeId;
  readonly faultyNetwork: NetworkFaults;
  record(line: string): void;
  count(what: string): void;
}

const maxDown = 2;

function pick<T>(random: RandomSource, items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : items[random.nextInt(items.length)];
}

function split(target: ClusterNemesisTarget): void {
  const { random, nodeIds, network } = target;
  const pool = [...nodeIds];
  const side: NodeId[] = [];
  const size = 1 + random.nextInt(2);
  while (side.length < size) side.push(pool.splice(random.nextInt(pool.length), 1)[0]!);
  const kind = chance(random, 0.2) ? "one-way" : "symmetric";
  network.partition(side, pool, kind);
  target.count("partitions");
  target.record(`nemesis: partition [${side.join(",")}] | [${pool.join(",")}] ${kind}`);
}

export function runClusterNemesis(target: ClusterNemesisTarget): void {
  const { world, random, nodeIds, network } = target;
  if (!chance(random, 0.25)) return;
  const down = nodeIds.filter((id) => !world.isUp(id));
  const roll = random.nextInt(7);
  if (roll <= 1) {
    const victim = pick(random, nodeIds.filter((id) => world.isUp(id) && id !== target.gone));
    if (victim === undefined || down.length >= maxDown) return;
    target.count("crashes");
    target.record(`nemesis: crash ${victim}`);
    world.crash(victim);
  } else if (roll <= 3) {
    const back = pick(random, down.filter((id) => id !== target.gone));
    if (back === undefined) return;
    target.count("restarts");
    target.record(`nemesis: restart ${back}`);
    world.start(back);
  } else if (roll === 4) {
    split(target);
  } else if (roll === 5) {
    target.record("nemesis: heal");
    network.heal();
  } else {
    const heavy = chance(random, 0.5);
    const faults = heavy ? { ...target.faultyNetwork, dropRate: 0.15 } : target.faultyNetwork;
    target.record(`nemesis: message loss ${faults.dropRate}`);
    network.setFaults(faults);
  }
}

import { describe, expect, it } from "vitest";
import { createSeededRandom } from "../../framework/raft/index.js";
import { createEventQueue } from "./event-queue.js";
import { createSimulatedNetwork, reliableNetwork } from "./network.js";

describe("simulated network", () => {
  it("cuts both ways for a symmetric partition, one way for a one-way one, until healed", () => {
    const network = createSimulatedNetwork(createSeededRandom(1), reliableNetwork);
    network.partition([1], [2, 3], "symmetric");
    expect(network.decide(1, 2)).toEqual({ kind: "dropped", reason: "partition" });
    expect(network.decide(3, 1)).toEqual({ kind: "dropped", reason: "partition" });
    expect(network.decide(2, 3).kind).toBe("delivered");
    network.heal();
    network.partition([2], [3], "one-way");
    expect(network.isCut(2, 3)).toBe(true);
    expect(network.isCut(3, 2)).toBe(false);
    network.heal();
    expect(network.cutLinkCount()).toBe(0);
    expect(network.decide(1, 2).kind).toBe("delivered");
  });

  it("drops, duplicates and delays at roughly the configured rates", () => {
    const network = createSimulatedNetwork(createSeededRandom(7), {
      dropRate: 0.2,
      duplicateRate: 0.1,
      delayMin: 2,
      delayMax: 5,
    });
    let dropped = 0;
    let duplicated = 0;
    const delays = new Set<number>();
    for (let i = 0; i < 10_000; i++) {
      const decision = network.decide(1, 2);
      if (decision.kind === "dropped") {
        dropped++;
        continue;
      }
      if (decision.delays.length === 2) duplicated++;
      for (const delay of decision.delays) delays.add(delay);
    }
    expect(Math.abs(dropped - 2000)).toBeLessThan(200);
    expect(Math.abs(duplicated - 800)).toBeLessThan(150);
    expect([...delays].sort()).toEqual([2, 3, 4, 5]);
  });

  it("rejects bad fault settings and a node on both sides, naming the value", () => {
    const random = createSeededRandom(1);
    expect(() => createSimulatedNetwork(random, { ...reliableNetwork, dropRate: 1.5 })).toThrow(
      /dropRate = 1.5/,
    );
    expect(() =>
      createSimulatedNetwork(random, { ...reliableNetwork, delayMin: 3, delayMax: 2 }),
    ).toThrow(/delayMax = 2/);
    const network = createSimulatedNetwork(random, reliableNetwork);
    expect(() => network.partition([1, 2], [2], "symmetric")).toThrow(/node 2 is on both sides/);
  });

  it("puts a group on an island that only it can reach, healed on its own", () => {
    const network = createSimulatedNetwork(createSeededRandom(2), reliableNetwork);
    network.partition([4], [5], "symmetric");
    network.isolate([1, 2]);
    expect(network.isCut(1, 2)).toBe(false);
    expect(network.isCut(1, 3)).toBe(true);
    expect(network.isCut(3, 2)).toBe(true);
    expect(network.decide(2, 3)).toEqual({ kind: "dropped", reason: "partition" });
    network.isolate([3]); // another island: cut from the first one and from the mainland
    expect(network.isCut(3, 1)).toBe(true);
    expect(network.isCut(3, 4)).toBe(true);
    network.reconnect([1, 2]);
    expect(network.isCut(1, 4)).toBe(false);
    expect(network.isCut(1, 3)).toBe(true);
    expect(network.isCut(4, 5)).toBe(true); // the partition is not the island's to heal
    network.heal();
    expect(network.isCut(1, 3)).toBe(false);
    expect(network.isCut(4, 5)).toBe(false);
    expect(() => network.isolate([])).toThrow(/isolate needs at least one node/);
  });
});

describe("event queue", () => {
  it("pops by time, and in scheduling order within one time", () => {
    const queue = createEventQueue<string>();
    queue.schedule(5, "e");
    queue.schedule(1, "a");
    queue.schedule(3, "c1");
    queue.schedule(3, "c2");
    queue.schedule(1, "b");
    const order: string[] = [];
    for (let next = queue.pop(); next !== undefined; next = queue.pop()) order.push(next.event);
    expect(order).toEqual(["a", "b", "c1", "c2", "e"]);
    expect(() => queue.schedule(Infinity, "never")).toThrow(/event time = Infinity/);
  });

  it("stays ordered under random interleaving of schedule and pop", () => {
    const random = createSeededRandom(3);
    const queue = createEventQueue<number>();
    let last = -1;
    let now = 0;
    for (let i = 0; i < 5_000; i++) {
      if (random.nextInt(3) > 0) queue.schedule(now + random.nextInt(20), i);
      else {
        const next = queue.pop();
        if (next === undefined) continue;
        expect(next.time).toBeGreaterThanOrEqual(last);
        last = next.time;
        now = next.time;
      }
    }
  });
});

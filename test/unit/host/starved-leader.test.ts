import { afterEach, describe, expect, it } from "vitest";
import type { StateMachine } from "../../../framework/statemachine/index.js";
import { bytes, eventually, HostCluster } from "./host-cluster.js";
import { createKvStateMachine } from "./kv-state-machine.js";

let cluster: HostCluster | undefined;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

/** The KV machine, whose apply waits while `held` is set (a leader starved by a long apply). */
function holdableMachine(): { machine: StateMachine; hold(): void; release(): void } {
  const inner = createKvStateMachine();
  let gate: Promise<void> | undefined;
  let open: () => void = () => {};
  return {
    machine: {
      ...inner,
      async apply(commands) {
        if (gate !== undefined) await gate;
        return inner.apply(commands);
      },
    },
    hold: () => {
      gate = new Promise((resolve) => (open = resolve));
    },
    release: () => {
      gate = undefined;
      open();
    },
  };
}

describe("a leader whose loop is stuck in a long apply (issue #8, overload)", () => {
  it("keeps heartbeating: no election while its iteration waits 40 election timeouts", async () => {
    cluster = new HostCluster([1, 2, 3]); // tick 5 ms, election timeout 10 ticks
    const machines = new Map([1, 2, 3].map((id) => [id, holdableMachine()]));
    for (const [id, held] of machines) await cluster.startCustomReplica(id, 1, [1, 2, 3], held.machine);
    const leaderId = await cluster.waitForLeader(1);
    const leader = cluster.hosts.get(leaderId)!;
    await leader.propose(1, bytes("set a 1"));
    const term = leader.status(1).term;

    const held = machines.get(leaderId)!;
    held.hold();
    const stuck = leader.propose(1, bytes("set a 2")); // its apply now holds the leader's loop
    try {
      await new Promise((resolve) => setTimeout(resolve, 40 * 50));
      for (const id of [1, 2, 3]) {
        const status = cluster.hosts.get(id)!.status(1);
        expect(status.term, `node ${id}`).toBe(term);
        expect(status.leader, `node ${id}`).toBe(leaderId);
      }
    } finally {
      held.release();
    }
    await stuck;
    const caughtUp = () => leader.status(1).appliedByStateMachine >= leader.status(1).commit;
    await eventually(caughtUp, 30_000, "applied");
  });
});

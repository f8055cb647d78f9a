import { afterEach, describe, expect, it } from "vitest";
import { decodePack, encodePack } from "../../../framework/host/command-pack.js";
import { HostErrorCode, isHostError } from "../../../framework/host/index.js";
import { bytes, eventually, HostCluster, text } from "./host-cluster.js";

let cluster: HostCluster | undefined;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

const where = { groupId: 7, index: 42 };
/** Above the inner waits (30 s each): a loaded CI box stalls the hosts for seconds; nothing here measures time. */
const testBoundMs = 120_000;

/** How each promise settled: "ok:<result>" or the HostError's code. */
function outcomes(promises: readonly Promise<unknown>[]): Promise<string[]> {
  return Promise.all(
    promises.map((promise) =>
      promise.then(
        (result) => `ok:${text(result)}`,
        (error: unknown) => (isHostError(error) ? error.code : `other:${String(error)}`),
      ),
    ),
  );
}

describe("command pack codec", () => {
  it("round-trips packs of empty, small and large commands as views of one buffer", () => {
    const commands = [new Uint8Array(0), bytes("a"), new Uint8Array(300).fill(7), new Uint8Array(20_000).fill(9)];
    const packed = encodePack(commands);
    const decoded = decodePack(packed, where);
    expect(decoded.map((command) => [...command])).toEqual(commands.map((command) => [...command]));
    expect(decoded.every((command) => command.buffer === packed.buffer)).toBe(true);
    expect(() => encodePack([])).toThrow(/at least one command/);
  });

  it("names what is wrong with a damaged pack, its group and its entry", () => {
    const good = encodePack([bytes("set a 1"), bytes("set b 2")]);
    const damaged: [Uint8Array, RegExp][] = [
      [bytes("set a 1"), /group 7: entry 42 .* first byte 115, expected 177/],
      [good.subarray(0, good.byteLength - 1), /command 1 of 7 bytes runs past the end/],
      [Uint8Array.of(...good, 0), /1 bytes after 2 commands/],
      [Uint8Array.of(0xb1, 0), /count 0/],
      [Uint8Array.of(0xb1, 9, 1, 0x61), /count 9 exceeds the bytes left/],
      [Uint8Array.of(0xb1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), /longer than 5 bytes/],
    ];
    for (const [pack, message] of damaged) {
      expect(() => decodePack(pack, where)).toThrow(message);
      try {
        decodePack(pack, where);
      } catch (error) {
        expect(isHostError(error, HostErrorCode.StateMachineFailed)).toBe(true);
      }
    }
  });
});

describe("NodeHost packs a group's proposals into one entry", () => {
  it("proposals of one turn become one entry; each gets its own command's result", async () => {
    cluster = new HostCluster([1, 2, 3]);
    await cluster.startGroup(1);
    const leader = cluster.hosts.get(await cluster.waitForLeader(1))!;
    await leader.propose(1, bytes("set warm up"));
    const before = leader.status(1).lastIndex;
    // Each put returns the previous value: result i is the value of put i-1.
    const puts = Array.from({ length: 50 }, (_, i) => leader.propose(1, bytes(`set k v${i}`)));
    expect(await outcomes(puts)).toEqual(Array.from({ length: 50 }, (_, i) => `ok:${i === 0 ? "" : `v${i - 1}`}`));
    expect(leader.status(1).lastIndex).toBe(before + 1);
    await eventually(() => [1, 2, 3].every((id) => cluster!.machine(id, 1).data.get("k") === "v49"), 30_000, "replicas");
  }, testBoundMs);

  it("respects maxCommandsPerEntry and maxPackBytes; a command larger than a pack goes alone", async () => {
    cluster = new HostCluster([1, 2, 3], { maxCommandsPerEntry: 4, maxPackBytes: 100, maxProposalBytes: 1000 });
    await cluster.startGroup(1);
    const leader = cluster.hosts.get(await cluster.waitForLeader(1))!;
    await leader.propose(1, bytes("set warm up"));
    let before = leader.status(1).lastIndex;
    // 10 commands of 8 bytes (9 packed): 4 per entry by count → 3 entries.
    const small = Array.from({ length: 10 }, (_, i) => leader.propose(1, bytes(`set a${i} x`)));
    expect((await outcomes(small)).every((outcome) => outcome.startsWith("ok:"))).toBe(true);
    expect(leader.status(1).lastIndex).toBe(before + 3);
    before = leader.status(1).lastIndex;
    // 5 commands of 40 bytes (41 packed, header 6): 2 per entry by size → 3 entries; then 500 bytes alone.
    const value = "y".repeat(40 - "set bN ".length);
    const large = Array.from({ length: 5 }, (_, i) => leader.propose(1, bytes(`set b${i} ${value}`)));
    const alone = leader.propose(1, bytes(`set c ${"z".repeat(494)}`));
    expect((await outcomes([...large, alone])).every((outcome) => outcome.startsWith("ok:"))).toBe(true);
    expect(leader.status(1).lastIndex).toBe(before + 4);
    expect(cluster.machine(leader.nodeId, 1).data.get("c")?.length).toBe(494);
  }, testBoundMs);

  it("maxCommandsPerEntry 1: one command per entry (no packs)", async () => {
    cluster = new HostCluster([1, 2, 3], { maxCommandsPerEntry: 1 });
    await cluster.startGroup(1);
    const leader = cluster.hosts.get(await cluster.waitForLeader(1))!;
    await leader.propose(1, bytes("set warm up"));
    const before = leader.status(1).lastIndex;
    const puts = Array.from({ length: 6 }, (_, i) => leader.propose(1, bytes(`set k v${i}`)));
    expect((await outcomes(puts)).every((outcome) => outcome.startsWith("ok:"))).toBe(true);
    expect(leader.status(1).lastIndex).toBe(before + 6);
  }, testBoundMs);

  it("a pack refused by a follower or replaced by another leader's entry fails every proposal in it, once", async () => {
    cluster = new HostCluster([1, 2, 3]);
    await cluster.startGroup(1);
    const first = await cluster.waitForLeader(1);
    const old = cluster.hosts.get(first)!;
    await old.propose(1, bytes("set warm up"));
    const follower = cluster.hosts.get([1, 2, 3].find((id) => id !== first)!)!;
    const refused = await outcomes(Array.from({ length: 3 }, (_, i) => follower.propose(1, bytes(`set f${i} x`))));
    expect(refused).toEqual([HostErrorCode.NotLeader, HostErrorCode.NotLeader, HostErrorCode.NotLeader]);

    cluster.network.isolate(first);
    // One pack of six: two with a short deadline fail alone, the others wait for the entry.
    const short = [0, 1].map((i) => old.propose(1, bytes(`set lost${i} x`), { timeoutMs: 20 }));
    const long = [2, 3, 4, 5].map((i) => old.propose(1, bytes(`set lost${i} x`), { timeoutMs: 100_000 }));
    expect(await outcomes(short)).toEqual([HostErrorCode.DeadlineExceeded, HostErrorCode.DeadlineExceeded]);
    let second: number | undefined;
    await eventually(() => {
      second = [1, 2, 3].find((id) => id !== first && cluster!.hosts.get(id)!.isLeader(1));
      return second !== undefined;
    }, 30_000, "new leader");
    const after = cluster.hosts.get(second!)!;
    await Promise.all([after.propose(1, bytes("set after 1")), after.propose(1, bytes("set after 2"))]);
    cluster.network.heal();
    expect(await outcomes(long)).toEqual(Array(4).fill(HostErrorCode.ProposalDropped));
    await eventually(() => cluster!.machine(first, 1).data.get("after") === "2", 30_000, "old leader caught up");
    for (const id of [1, 2, 3]) {
      expect([...cluster.machine(id, 1).data.keys()].filter((key) => key.startsWith("lost"))).toEqual([]);
    }
    expect(old.status(1).pendingProposals).toBe(0);
  }, testBoundMs);

  it("every node restarted from its own log and snapshots rebuilds the same state from packed entries", async () => {
    cluster = new HostCluster([1, 2, 3], { snapshotEntries: 7, compactionOverhead: 2 });
    await cluster.startGroup(1);
    const leader = cluster.hosts.get(await cluster.waitForLeader(1))!;
    for (let round = 0; round < 20; round++) {
      const puts = Array.from({ length: 1 + (round % 5) }, (_, i) => leader.propose(1, bytes(`set r${round}k${i} ${round}`)));
      await Promise.all(puts);
    }
    const expected = [...cluster.machine(leader.nodeId, 1).data].sort();
    expect(expected).toHaveLength(60);
    await eventually(() => [1, 2, 3].every((id) => cluster!.machine(id, 1).data.size === 60), 30_000, "all applied");
    expect(leader.status(1).snapshotIndex).toBeGreaterThan(0);
    for (const id of [1, 2, 3]) await cluster.crash(id);
    for (const id of [1, 2, 3]) cluster.startHost(id);
    for (const id of [1, 2, 3]) await cluster.startReplica(id, 1, [1, 2, 3]);
    await eventually(() => [1, 2, 3].every((id) => cluster!.machine(id, 1).data.size === 60), 30_000, "replayed");
    for (const id of [1, 2, 3]) expect([...cluster.machine(id, 1).data].sort()).toEqual(expected);
  }, testBoundMs);

  it("a follower restored from a snapshot applies the packed entries after it from the log", async () => {
    cluster = new HostCluster([1, 2, 3], { snapshotEntries: 5, compactionOverhead: 1 });
    await cluster.startGroup(1);
    const leaderId = await cluster.waitForLeader(1);
    const leader = cluster.hosts.get(leaderId)!;
    const lagging = [1, 2, 3].find((id) => id !== leaderId)!;
    cluster.network.isolate(lagging);
    for (let round = 0; round < 12; round++) {
      await Promise.all(Array.from({ length: 3 }, (_, i) => leader.propose(1, bytes(`set s${round}k${i} ${round}`))));
    }
    await eventually(() => leader.status(1).snapshotIndex >= 8, 30_000, "leader compacted");
    cluster.network.heal();
    await eventually(() => cluster!.network.snapshotsSent > 0, 30_000, "snapshot sent");
    // Packs committed after the snapshot reach the follower as log entries.
    for (let round = 12; round < 15; round++) {
      await Promise.all(Array.from({ length: 4 }, (_, i) => leader.propose(1, bytes(`set s${round}k${i} ${round}`))));
    }
    await eventually(() => cluster!.machine(lagging, 1).data.size === 48, 30_000, "lagging caught up");
    expect([...cluster.machine(lagging, 1).data]).toEqual([...cluster.machine(leaderId, 1).data]);
  }, testBoundMs);
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createDeterministicRandom } from "../../../framework/statemachine/index.js";
import type { SessionStamp } from "../../../framework/statemachine/index.js";
import { Add, Delete, Put, Stamp, createCounterKvMachine } from "./counter-kv-state-machine.js";
import type { CounterKvMachine } from "./counter-kv-state-machine.js";
import { chunked, collect, commandEntry, createReplicaLog } from "./replica-log.js";

const limits = { maxSessions: 5, sessionTimeoutMs: 2_000, maxResultsPerSession: 3 };

/**
 * A seeded stream of log entries: several clients with sessions (retries,
 * acknowledgements, pipelining), commands without sessions, a clock that
 * sometimes goes backwards, executor errors and duplicates.
 */
function generateEntries(seed: number, count: number): Uint8Array[] {
  const random = createDeterministicRandom(seed, 0, 0);
  const clients = Array.from({ length: 6 }, (_, at) => ({
    id: BigInt(at + 1),
    sequence: 0,
    acked: 0,
  }));
  const sent: Uint8Array[] = [];
  const entries: Uint8Array[] = [];
  let clock = 1_000;
  for (let at = 0; at < count; at++) {
    clock += random.nextInt(100) - 20;
    const roll = random.nextInt(10);
    if (roll === 0 && sent.length > 0) {
      entries.push(sent[random.nextInt(sent.length)]!); // a retry of some earlier entry
      continue;
    }
    const client = clients[random.nextInt(clients.length)]!;
    if (random.nextInt(25) === 0) {
      Object.assign(client, { id: client.id + 100n, sequence: 0, acked: 0 }); // a fresh session
    }
    if (client.sequence > client.acked && random.nextInt(4) !== 0) client.acked += 1;
    client.sequence += 1;
    const stamp: SessionStamp | undefined =
      roll === 1
        ? undefined
        : { clientId: client.id, sequence: client.sequence, respondedTo: client.acked };
    const key = `k${random.nextInt(5)}`;
    const entry =
      roll < 5
        ? commandEntry(Add, { name: key, delta: random.nextInt(5) - 1 }, stamp, clock)
        : roll < 7
          ? commandEntry(Put, { key, value: `v${at}` }, stamp, clock)
          : roll < 9
            ? commandEntry(Delete, { name: key }, stamp, clock)
            : commandEntry(Stamp, { draws: 1 }, stamp, clock);
    sent.push(entry);
    entries.push(entry);
  }
  return entries;
}

async function run(replica: CounterKvMachine, entries: readonly Uint8Array[], batch: number) {
  const log = createReplicaLog(replica.machine);
  const results: Uint8Array[] = [];
  for (let at = 0; at < entries.length; at += batch) {
    results.push(...(await log.appendAll(entries.slice(at, at + batch))));
  }
  return results;
}

describe("determinism", () => {
  it("two replicas fed the same entries end byte-identical, whatever the batching", async () => {
    const seeds = fc.integer({ min: 0, max: 2 ** 31 - 1 });
    const batches = fc.integer({ min: 1, max: 9 });
    await fc.assert(
      fc.asyncProperty(seeds, batches, async (seed, batch) => {
        const entries = generateEntries(seed, 120);
        const first = createCounterKvMachine(5, limits);
        const second = createCounterKvMachine(5, limits);
        const firstResults = await run(first, entries, 1);
        const secondResults = await run(second, entries, batch);
        expect(secondResults).toEqual(firstResults);
        const firstSnapshot = await collect(first.machine.saveSnapshot());
        expect(await collect(second.machine.saveSnapshot())).toEqual(firstSnapshot);
        expect(first.machine.sessionCount()).toBeLessThanOrEqual(limits.maxSessions);
      }),
      { numRuns: 25 },
    );
  });

  it("a replica restored from a mid-way snapshot ends byte-identical to the leader", async () => {
    const entries = generateEntries(424_242, 200);
    const leader = createCounterKvMachine(5, limits);
    const leaderLog = createReplicaLog(leader.machine);
    const head = entries.slice(0, 90);
    await leaderLog.appendAll(head);
    // Taken now, consumed later while more entries apply (as the host does).
    const pending = leader.machine.saveSnapshot();
    const tailResults = await leaderLog.appendAll(entries.slice(90));
    const midway = await collect(pending);

    const follower = createCounterKvMachine(5, limits);
    await follower.machine.open();
    await follower.machine.restoreSnapshot(90, chunked(midway, 3));
    const followerLog = createReplicaLog(follower.machine);
    expect(await followerLog.appendAll(entries.slice(90))).toEqual(tailResults);
    const leaderSnapshot = await collect(leader.machine.saveSnapshot());
    expect(await collect(follower.machine.saveSnapshot())).toEqual(leaderSnapshot);
    expect(follower.state.effects()).toBe(leader.state.effects());
  });

  it("restores from any re-chunking of the snapshot stream", async () => {
    const entries = generateEntries(7, 60);
    const source = createCounterKvMachine(5, limits);
    await createReplicaLog(source.machine).appendAll(entries);
    const snapshot = await collect(source.machine.saveSnapshot());
    for (const size of [1, 2, 5, 64, snapshot.length]) {
      const copy = createCounterKvMachine(5, limits);
      await copy.machine.restoreSnapshot(60, chunked(snapshot, size));
      expect(await collect(copy.machine.saveSnapshot())).toEqual(snapshot);
      expect(copy.machine.clockMs()).toBe(source.machine.clockMs());
      expect(copy.machine.appliedIndex()).toBe(60);
    }
  });

  it("refuses a stream that is not an executable snapshot, naming what it found", async () => {
    const copy = createCounterKvMachine();
    const bytes = new TextEncoder().encode('{"counters":[]}');
    await expect(copy.machine.restoreSnapshot(3, chunked(bytes, 4))).rejects.toThrowError(
      /not an executable state machine snapshot: starts with \[123, 34, 99, 111\], expected "RKSM"/,
    );
    const truncated = chunked(bytes.slice(0, 2), 4);
    await expect(copy.machine.restoreSnapshot(3, truncated)).rejects.toThrowError(
      /snapshot stream ended inside snapshot magic: needed 4 bytes, had 2/,
    );
  });
});

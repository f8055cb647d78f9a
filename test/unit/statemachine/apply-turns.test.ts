/**
 * The executable machine's yields during a long apply (ApplyTurns): the
 * same results and state as one pass, yields where the budget says, and an
 * executor's own yields (context.yieldTurn).
 */
import { describe, expect, it } from "vitest";
import { buildQuery, decodeResultBatch, encodeEnvelopeBatch, readCommandResult, readQueryResult } from "../../../framework/statemachine/index.js";
import { Add, Effects, GetCounter, Stamp, createCounterKvMachine } from "./counter-kv-state-machine.js";
import { collect, commandEntry, createReplicaLog } from "./replica-log.js";

/** An entry of `count` Add envelopes on counters a0 … a4 (every 5th one refused: delta 0). */
function addEntry(count: number, first: number): Uint8Array {
  return encodeEnvelopeBatch(Array.from({ length: count }, (_, offset) => ({
    type: Add.typeName, session: undefined, timestampMs: 1_000 + first + offset,
    payload: Add.request.encode({ name: `a${(first + offset) % 5}`, delta: (first + offset) % 5 === 4 ? 0 : first + offset }),
  })));
}

const entries = (): Uint8Array[] => [addEntry(40, 0), commandEntry(Stamp, { draws: 6 }, undefined, 2_000),
  addEntry(3, 40), addEntry(25, 43)];

type Machine = ReturnType<typeof createCounterKvMachine>["machine"];

async function runAll(applyTurns?: Parameters<typeof createCounterKvMachine>[2],
  seen: { machine?: Machine } = {}) {
  const replica = createCounterKvMachine(3, {}, applyTurns);
  seen.machine = replica.machine;
  await replica.machine.open();
  const log = createReplicaLog(replica.machine);
  const results = [...await log.appendAll(entries().slice(0, 2)), ...await log.appendAll(entries().slice(2))];
  const snapshot = await collect(replica.machine.saveSnapshot());
  return { replica, results, snapshot };
}

describe("executable state machine: apply in turns", () => {
  it("gives the same results and state as one pass, yielding after each budget of payload bytes", async () => {
    const plain = await runAll();
    const effectsSeen: number[] = [];
    const seen: { machine?: Machine } = {};
    const yieldNow = async (): Promise<void> => {
      // What the rest of the process could see at a yield: the work done so far, not all of it.
      const effects = await seen.machine!.query(buildQuery(Effects, { name: "" }));
      effectsSeen.push(readQueryResult(Effects, effects).value);
    };
    const payloadBytes = Add.request.encode({ name: "a0", delta: 40 }).length * 8;
    const turned = await runAll({ payloadBytes, yieldNow }, seen);
    expect(turned.results).toEqual(plain.results);
    expect(turned.snapshot).toEqual(plain.snapshot);
    expect(turned.replica.machine.appliedIndex()).toBe(plain.replica.machine.appliedIndex());
    expect(turned.replica.machine.clockMs()).toBe(plain.replica.machine.clockMs());
    const counter = await turned.replica.machine.query(buildQuery(GetCounter, { name: "a3" }));
    expect(readQueryResult(GetCounter, counter).value).toBe(3 + 8 + 13 + 18 + 23 + 28 + 33 + 38 + 43 + 48 + 53 + 58 + 63);
    // 68 Add envelopes of ~budget/8 bytes: a yield about every 8 envelopes, plus the Stamp's 5.
    expect(effectsSeen.length).toBeGreaterThanOrEqual(5 + Math.floor(68 / 9));
    expect(effectsSeen.length).toBeLessThanOrEqual(5 + Math.ceil(68 / 8) + 2);
    // Yields fell inside entries: some saw part of the first entry's 32 accepted adds.
    expect(effectsSeen.some((effects) => effects > 0 && effects < 32)).toBe(true);
    expect([...effectsSeen].sort((left, right) => left - right)).toEqual(effectsSeen);
  });

  it("lets an executor yield between slices of one command, with the same result", async () => {
    let yields = 0;
    const replica = createCounterKvMachine(3, {}, { payloadBytes: 1 << 20, yieldNow: async () => { yields++; } });
    const log = createReplicaLog(replica.machine);
    const stamped = readCommandResult(Stamp, await log.append(commandEntry(Stamp, { draws: 4 }, undefined, 1_000)));
    expect(yields).toBe(3);
    const plain = createCounterKvMachine(3);
    const again = readCommandResult(Stamp,
      await createReplicaLog(plain.machine).append(commandEntry(Stamp, { draws: 4 }, undefined, 1_000)));
    expect(stamped).toEqual(again);
    expect(decodeResultBatch(await log.append(addEntry(2, 0)), 2)).toHaveLength(2);
    expect(yields).toBe(3); // 2 small envelopes: within the budget
  });

  it("refuses a budget that is not a positive integer, naming it", () => {
    for (const payloadBytes of [0, -1, 1.5, Number.NaN]) {
      expect(() => createCounterKvMachine(3, {}, { payloadBytes, yieldNow: async () => undefined }))
        .toThrowError(`applyTurns.payloadBytes = ${payloadBytes}, allowed a positive integer`);
    }
  });
});

import { describe, expect, it } from "vitest";
import type { Operation } from "./history.js";
import { createHistoryRecorder } from "./history.js";
import { checkLinearizability } from "./linearizability.js";

const write = (
  client: number,
  call: number,
  ret: number,
  key: string,
  value: string,
): Operation => ({
  client,
  call,
  return: ret,
  op: "write",
  key,
  value,
  indeterminate: false,
});
const read = (
  client: number,
  call: number,
  ret: number,
  key: string,
  output: string | null,
): Operation => ({
  client,
  call,
  return: ret,
  op: "read",
  key,
  output,
  indeterminate: false,
});
const lostWrite = (client: number, call: number, key: string, value: string): Operation => ({
  client,
  call,
  return: Infinity,
  op: "write",
  key,
  value,
  indeterminate: true,
});

describe("linearizability checker (Wing–Gong search with memoization)", () => {
  it("accepts a sequential history and an empty one", () => {
    expect(checkLinearizability([]).linearizable).toBe(true);
    const history = [
      write(1, 0, 1, "x", "a"),
      read(1, 2, 3, "x", "a"),
      write(1, 4, 5, "x", "b"),
      read(2, 6, 7, "x", "b"),
    ];
    expect(checkLinearizability(history).linearizable).toBe(true);
  });

  it("accepts a read of the initial value before any write", () => {
    expect(
      checkLinearizability([read(1, 0, 1, "x", null), write(2, 2, 3, "x", "a")]).linearizable,
    ).toBe(true);
  });

  it("rejects a stale read after a write completed", () => {
    const history = [write(1, 0, 1, "x", "a"), write(1, 2, 3, "x", "b"), read(2, 4, 5, "x", "a")];
    const result = checkLinearizability(history);
    expect(result.linearizable).toBe(false);
    expect(result.violations[0]?.key).toBe("x");
    expect(result.violations[0]?.reason).toBe("not linearizable");
  });

  it("accepts either order of overlapping writes, seen by overlapping reads", () => {
    // w(a) and w(b) overlap; reads see b then a: linearizable as w(b) r(b) w(a) r(a).
    const history = [
      write(1, 0, 10, "x", "a"),
      write(2, 0, 10, "x", "b"),
      read(3, 1, 4, "x", "b"),
      read(3, 5, 9, "x", "a"),
    ];
    expect(checkLinearizability(history).linearizable).toBe(true);
  });

  it("rejects two sequential reads that see overlapping writes in both orders", () => {
    const history = [
      write(1, 0, 10, "x", "a"),
      write(2, 0, 10, "x", "b"),
      read(3, 1, 2, "x", "a"),
      read(3, 3, 4, "x", "b"),
      read(3, 5, 6, "x", "a"),
    ];
    expect(checkLinearizability(history).linearizable).toBe(false);
  });

  it("rejects a read of a value never written, and a read from the future", () => {
    expect(checkLinearizability([read(1, 0, 1, "x", "ghost")]).linearizable).toBe(false);
    expect(
      checkLinearizability([read(1, 0, 1, "x", "a"), write(2, 2, 3, "x", "a")]).linearizable,
    ).toBe(false);
  });

  it("lets an indeterminate write take effect", () => {
    const history = [lostWrite(1, 0, "x", "a"), read(2, 5, 6, "x", "a")];
    expect(checkLinearizability(history).linearizable).toBe(true);
  });

  it("lets an indeterminate write not take effect", () => {
    const history = [
      lostWrite(1, 0, "x", "a"),
      read(2, 5, 6, "x", null),
      write(2, 7, 8, "x", "b"),
      read(2, 9, 10, "x", "b"),
    ];
    expect(checkLinearizability(history).linearizable).toBe(true);
  });

  it("does not let an indeterminate write take effect before its call", () => {
    const history = [read(2, 0, 1, "x", "a"), lostWrite(1, 2, "x", "a")];
    expect(checkLinearizability(history).linearizable).toBe(false);
  });

  it("does not let an indeterminate write take effect twice", () => {
    const history = [
      lostWrite(1, 0, "x", "a"),
      read(2, 1, 2, "x", "a"),
      write(2, 3, 4, "x", "b"),
      read(2, 5, 6, "x", "a"),
    ];
    expect(checkLinearizability(history).linearizable).toBe(false);
  });

  it("checks keys independently and names only the broken key", () => {
    const history = [
      write(1, 0, 1, "x", "a"),
      read(1, 2, 3, "x", "a"),
      write(2, 0, 1, "y", "a"),
      write(2, 2, 3, "y", "b"),
      read(2, 4, 5, "y", "a"),
    ];
    const result = checkLinearizability(history);
    expect(result.violations.map((violation) => violation.key)).toEqual(["y"]);
  });

  it("treats operations meeting in one tick as concurrent", () => {
    // The write returns at tick 5 and the read is called at tick 5: either order is allowed.
    const history = [write(1, 0, 5, "x", "a"), read(2, 5, 6, "x", null)];
    expect(checkLinearizability(history).linearizable).toBe(true);
  });

  it("reports an exhausted budget as a failure, not as a pass", () => {
    const history: Operation[] = [];
    for (let i = 0; i < 12; i++) history.push(write(i, 0, 100, "x", `v${i}`));
    history.push(read(99, 101, 102, "x", "nobody-wrote-this"));
    const result = checkLinearizability(history, { budgetPerKey: 50 });
    expect(result.linearizable).toBe(false);
    expect(result.violations[0]?.reason).toBe("search budget exceeded");
  });

  it("stays fast on many concurrent writes thanks to memoization", () => {
    const history: Operation[] = [];
    for (let i = 0; i < 14; i++) history.push(write(i, 0, 100, "x", `v${i}`));
    history.push(read(99, 101, 102, "x", "v3"));
    const result = checkLinearizability(history, { budgetPerKey: 1_000_000 });
    expect(result.linearizable).toBe(true);
  });

  it("reads what the history recorder produces, including timed-out operations", () => {
    const recorder = createHistoryRecorder();
    const lost = recorder.invoke(1, 0, "write", "x", "a");
    recorder.timeOut(lost);
    const failed = recorder.invoke(1, 1, "write", "x", "never");
    recorder.fail(failed);
    const seen = recorder.invoke(2, 3, "read", "x");
    recorder.complete(seen, 4, "a");
    const operations = recorder.operations();
    expect(operations).toHaveLength(2);
    expect(operations[0]).toMatchObject({ op: "write", indeterminate: true, return: Infinity });
    expect(checkLinearizability(operations).linearizable).toBe(true);
    expect(() => recorder.complete(seen, 5, "a")).toThrow(/not pending/);
  });
});

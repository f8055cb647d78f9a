import type { Operation } from "./history.js";
import { initialValue } from "./history.js";

/**
 * Linearizability checker for a key-value store of registers, in the style of
 * Wing & Gong's search with Lowe's memoization, as Porcupine implements it:
 * the history is cut per key (registers are independent, so the whole history
 * is linearizable iff every key's is), then a depth-first search tries to
 * linearize, one at a time, each operation whose call precedes every pending
 * return; a (set of linearized operations, register value) pair already seen
 * is not explored twice.
 *
 * Indeterminate operations (the client gave up) may or may not have taken
 * effect: reads are dropped (they constrain nothing), writes get a return time
 * of +Infinity, so they can be linearized anywhere after their call, including
 * after everything else — which is the same as never taking effect.
 */

export interface KeyViolation {
  readonly key: string;
  /** "not linearizable" or "search budget exceeded" (then the answer is unknown). */
  readonly reason: string;
  readonly operations: readonly Operation[];
}

export interface LinearizabilityResult {
  readonly linearizable: boolean;
  readonly violations: readonly KeyViolation[];
  /** Search steps taken over all keys, to see how hard the history was. */
  readonly explored: number;
}

export interface CheckOptions {
  /** Search steps allowed per key before giving up with "budget exceeded". */
  readonly budgetPerKey?: number;
}

type RegisterValue = string | null;

export function checkLinearizability(
  history: readonly Operation[],
  options: CheckOptions = {},
): LinearizabilityResult {
  const budget = options.budgetPerKey ?? 2_000_000;
  const byKey = new Map<string, Operation[]>();
  for (const operation of history) {
    if (operation.op === "read" && operation.indeterminate) continue;
    let list = byKey.get(operation.key);
    if (list === undefined) byKey.set(operation.key, (list = []));
    list.push(operation);
  }
  const violations: KeyViolation[] = [];
  let explored = 0;
  for (const key of [...byKey.keys()].sort()) {
    const operations = byKey.get(key) ?? [];
    const outcome = checkRegister(operations, budget);
    explored += outcome.explored;
    if (outcome.verdict !== "linearizable") {
      violations.push({ key, reason: outcome.verdict, operations });
    }
  }
  return { linearizable: violations.length === 0, violations, explored };
}

/** One call or return event in the doubly linked list the search edits. */
interface ListEntry {
  readonly id: number;
  readonly isCall: boolean;
  readonly time: number;
  /** For a call: its return entry. */
  match: ListEntry | undefined;
  previous: ListEntry | undefined;
  next: ListEntry | undefined;
}

function buildList(operations: readonly Operation[]): ListEntry {
  const events: ListEntry[] = [];
  operations.forEach((operation, id) => {
    const returnTime = operation.indeterminate ? Infinity : operation.return;
    if (!(returnTime >= operation.call)) {
      throw new Error(
        `history: operation on ${operation.key} returns at ${returnTime} ` +
          `before its call at ${operation.call}`,
      );
    }
    const call: ListEntry = {
      id,
      isCall: true,
      time: operation.call,
      match: undefined,
      previous: undefined,
      next: undefined,
    };
    const ret: ListEntry = {
      id,
      isCall: false,
      time: returnTime,
      match: undefined,
      previous: undefined,
      next: undefined,
    };
    call.match = ret;
    events.push(call, ret);
  });
  // Calls sort before returns at the same tick: operations that meet in one
  // tick count as concurrent, the permissive reading of a coarse clock.
  events.sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall) || a.id - b.id);
  const head: ListEntry = {
    id: -1,
    isCall: false,
    time: -Infinity,
    match: undefined,
    previous: undefined,
    next: undefined,
  };
  let last = head;
  for (const event of events) {
    last.next = event;
    event.previous = last;
    last = event;
  }
  return head;
}

function lift(call: ListEntry): void {
  const ret = call.match!;
  call.previous!.next = call.next;
  if (call.next !== undefined) call.next.previous = call.previous;
  ret.previous!.next = ret.next;
  if (ret.next !== undefined) ret.next.previous = ret.previous;
}

function unlift(call: ListEntry): void {
  const ret = call.match!;
  ret.previous!.next = ret;
  if (ret.next !== undefined) ret.next.previous = ret;
  call.previous!.next = call;
  if (call.next !== undefined) call.next.previous = call;
}

function stepRegister(
  state: RegisterValue,
  operation: Operation,
): { ok: boolean; next: RegisterValue } {
  if (operation.op === "write") return { ok: true, next: operation.value };
  return { ok: operation.output === state, next: state };
}

interface SearchOutcome {
  readonly verdict: "linearizable" | "not linearizable" | "search budget exceeded";
  readonly explored: number;
}

function checkRegister(operations: readonly Operation[], budget: number): SearchOutcome {
  const head = buildList(operations);
  const linearized = new Uint32Array(Math.ceil(operations.length / 32) + 1);
  const seen = new Set<string>();
  const stack: { entry: ListEntry; state: RegisterValue }[] = [];
  let determinateLeft = operations.filter((operation) => !operation.indeterminate).length;
  let state: RegisterValue = initialValue;
  let entry = head.next;
  let explored = 0;
  while (determinateLeft > 0) {
    if (++explored > budget) return { verdict: "search budget exceeded", explored };
    if (entry === undefined) throw new Error("linearizability: ran off the event list");
    if (entry.isCall) {
      const operation = operations[entry.id]!;
      const { ok, next } = stepRegister(state, operation);
      if (ok) {
        linearized[entry.id >>> 5]! ^= 1 << (entry.id & 31);
        const memo = `${linearized.join(",")}|${next === null ? "\u0000" : next}`;
        if (!seen.has(memo)) {
          seen.add(memo);
          stack.push({ entry, state });
          state = next;
          lift(entry);
          if (!operation.indeterminate) determinateLeft--;
          entry = head.next;
          continue;
        }
        linearized[entry.id >>> 5]! ^= 1 << (entry.id & 31);
      }
      entry = entry.next;
      continue;
    }
    // A return whose call is not linearized yet: this branch is dead, backtrack.
    const top = stack.pop();
    if (top === undefined) return { verdict: "not linearizable", explored };
    state = top.state;
    linearized[top.entry.id >>> 5]! ^= 1 << (top.entry.id & 31);
    unlift(top.entry);
    if (!operations[top.entry.id]!.indeterminate) determinateLeft++;
    entry = top.entry.next;
  }
  return { verdict: "linearizable", explored };
}

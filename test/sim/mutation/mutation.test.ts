import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Mutation } from "./mutations.js";
import { mutationById, mutations } from "./mutations.js";
import { parseHuntResult, runMutation } from "./run-mutation.js";
import { MutationError, applyMutation, createSandbox } from "./sandbox.js";

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const runOptions = (maxRuns: number) => ({
  repositoryRoot,
  firstSeed: 1,
  maxRuns,
  nodes: [3, 5],
  clock: () => 0,
});

describe("mutation harness", () => {
  it("applies every mutation to exactly one place of the current core, in a sandbox only", () => {
    for (const mutation of mutations) {
      const sandbox = createSandbox(repositoryRoot);
      try {
        applyMutation(sandbox.root, mutation);
        const mutated = readFileSync(join(sandbox.root, mutation.file), "utf8");
        expect(mutated.includes(mutation.newText), mutation.id).toBe(true);
        const original = readFileSync(join(repositoryRoot, mutation.file), "utf8");
        expect(original.includes(mutation.oldText), mutation.id).toBe(true);
        expect(mutated).not.toBe(original);
      } finally {
        sandbox.remove();
      }
    }
  });

  it("fails loudly, naming the mutation, when its old text is gone", () => {
    const stale: Mutation = {
      ...mutationById("B1"),
      id: "stale",
      oldText: "this text is not in the core",
    };
    const sandbox = createSandbox(repositoryRoot);
    try {
      expect(() => applyMutation(sandbox.root, stale)).toThrow(MutationError);
      expect(() => applyMutation(sandbox.root, stale)).toThrow(
        /mutation stale no longer applies: its old text occurs 0 times in framework\/raft/,
      );
    } finally {
      sandbox.remove();
    }
    expect(() => mutationById("B9")).toThrow(/mutation "B9", allowed B1, B2/);
  });

  it("reads the hunt's JSON line and rejects anything else", () => {
    expect(parseHuntResult('noise\n{"found":false,"runs":4}\n')).toEqual({
      found: false,
      runs: 4,
    });
    expect(() => parseHuntResult("not json")).toThrow(/no JSON result/);
    expect(() => parseHuntResult('{"runs":4}')).toThrow(/unexpected result/);
  });

  // The cheap ones (the full set is `npm run sim:mutations`, minutes long).
  it("finds B4 (double vote) and B5 (early ack); the real core passes those runs", async () => {
    const doubleVote = await runMutation(mutationById("B4"), runOptions(40));
    const hastyAck = await runMutation(mutationById("B5"), runOptions(40));
    expect(doubleVote).toMatchObject({ id: "B4", found: true });
    expect(hastyAck).toMatchObject({ id: "B5", found: true });
    const runs = Math.max(doubleVote.runs, hastyAck.runs);
    // The same seeds on the real core: the findings are the mutations', not the harness's.
    const control = await runMutation(undefined, runOptions(runs));
    expect(control).toEqual({ id: "control", found: false, runs, elapsedMs: 0 });
  });
});

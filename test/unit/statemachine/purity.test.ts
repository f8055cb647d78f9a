/**
 * STYLE rule 2: apply code reads no clock, draws no ambient randomness and
 * does no I/O — time and randomness reach executors through ApplyContext,
 * which is what makes every replica compute the same state.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const directories = [
  join(import.meta.dirname, "../../../framework/statemachine"),
  import.meta.dirname,
];

// node:crypto stays allowed for hashing (deterministic); its random functions do not.
const forbidden: [RegExp, string][] = [
  [/from\s+["']node:(?!crypto["'])/, "node: import"],
  [/from\s+["'](fs|net|http|http2|timers|child_process|os)["']/, "I/O module import"],
  [/\b(randomBytes|randomUUID|randomInt|getRandomValues)\b/, "ambient randomness"],
  [/\bDate\.now\b|\bnew Date\(/, "wall clock"],
  [/\bMath\.random\b/, "ambient randomness"],
  [/\bset(Timeout|Interval|Immediate)\b/, "timer"],
  [/\bprocess\./, "process access"],
  [/\bperformance\.now\b/, "clock"],
];

function sourceFiles(directory: string): string[] {
  return readdirSync(directory)
    .filter((name) => name.endsWith(".ts") && !name.endsWith(".test.ts"))
    .map((name) => join(directory, name));
}

describe("state machine code is deterministic", () => {
  const files = directories.flatMap(sourceFiles);

  it("has source files to check", () => {
    expect(files.length).toBeGreaterThan(15);
  });

  it.each(files)("%s uses no clock, timer, randomness or I/O", (file) => {
    const violations: string[] = [];
    readFileSync(file, "utf8")
      .split("\n")
      .forEach((line, at) => {
        if (/^\s*(\/\/|\*)/.test(line)) return;
        for (const [pattern, what] of forbidden) {
          if (pattern.test(line)) violations.push(`${at + 1} ${what}: ${line.trim()}`);
        }
      });
    expect(violations).toEqual([]);
  });

  it("imports only itself, the generated wire types and the pure raft core's public face", () => {
    // The raft core is the one framework part below this one: it is pure
    // (test/unit/raft/purity.test.ts), so apply code stays deterministic.
    for (const file of sourceFiles(directories[0]!)) {
      const imports = [...readFileSync(file, "utf8").matchAll(/from\s+["'](\.\.\/[^"']+)["']/g)];
      for (const [, path] of imports) {
        expect(path, file).toMatch(/^(\.\.\/\.\.\/gen\/raftkit\/v1\/|\.\.\/raft\/index\.js$)/);
      }
    }
  });
});

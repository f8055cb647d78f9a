/**
 * STYLE rule 2: the raft core does no I/O, reads no clock and draws no
 * ambient randomness — everything arrives through tick(), step() and the
 * injected RandomSource, which is what lets the simulator replay a seed.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const coreDirectory = join(import.meta.dirname, "../../../framework/raft");

const forbidden: [RegExp, string][] = [
  [/from\s+["']node:/, "node: import"],
  [/from\s+["'](fs|net|http|http2|timers|crypto|child_process|os)["']/, "I/O module import"],
  [/\bDate\.now\b|\bnew Date\(/, "wall clock"],
  [/\bMath\.random\b/, "ambient randomness"],
  [/\bset(Timeout|Interval|Immediate)\b/, "timer"],
  [/\bprocess\./, "process access"],
  [/\bperformance\.now\b/, "clock"],
];

describe("the raft core is pure", () => {
  const files = readdirSync(coreDirectory).filter((name) => name.endsWith(".ts"));

  it("has source files to check", () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it.each(files)("%s uses no clock, timer, randomness or I/O", (name) => {
    const lines = readFileSync(join(coreDirectory, name), "utf8").split("\n");
    const violations: string[] = [];
    lines.forEach((line, i) => {
      if (/^\s*(\/\/|\*)/.test(line)) return;
      for (const [pattern, what] of forbidden) if (pattern.test(line)) violations.push(`${name}:${i + 1} ${what}: ${line.trim()}`);
    });
    expect(violations).toEqual([]);
  });

  it("imports nothing else of the framework", () => {
    for (const name of files) {
      const source = readFileSync(join(coreDirectory, name), "utf8");
      expect(source, name).not.toMatch(/from\s+["']\.\.\//);
    }
  });
});

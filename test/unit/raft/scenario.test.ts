import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatScenario, parseScenario, runScenario } from "./scenario-runner.js";

const directory = join(import.meta.dirname, "scenarios");
const rewrite = process.env["RAFTKIT_REWRITE"] === "1";

describe("raft scenarios", () => {
  for (const name of readdirSync(directory).filter((file) => file.endsWith(".txt"))) {
    it(name, () => {
      const path = join(directory, name);
      const text = readFileSync(path, "utf8");
      const blocks = parseScenario(text);
      const actual = runScenario(blocks);
      if (rewrite) {
        writeFileSync(path, formatScenario(blocks.map((block, i) => ({ ...block, expected: actual[i]! }))));
        return;
      }
      blocks.forEach((block, i) => {
        expect(actual[i], `${name}:${block.line} ${block.command}`).toBe(block.expected);
      });
    });
  }
});

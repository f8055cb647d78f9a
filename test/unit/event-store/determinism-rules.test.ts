import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The engine's apply and query code must be deterministic and I/O-free
 * (STYLE rule 2): no clock, no randomness, no timers, no direct file access.
 * Only node-file-system.ts, the injected real disk, may import node:fs.
 */
const ENGINE = fileURLToPath(new URL("../../../examples/event-store/engine/", import.meta.url));
const BANNED = [/Date\.now/, /new Date\(/, /Math\.random/, /performance\.now/, /setTimeout/,
  /setInterval/, /setImmediate/, /process\.hrtime/, /from "node:fs/, /from "fs/, /crypto/];

describe("engine sources", () => {
  it("use no clock, randomness, timers or file access outside the injected file system", () => {
    const files = readdirSync(ENGINE).filter((name) => name.endsWith(".ts"));
    expect(files.length).toBeGreaterThan(30);
    const offenders: string[] = [];
    for (const name of files) {
      if (name === "node-file-system.ts") continue;
      const text = readFileSync(ENGINE + name, "utf8");
      for (const pattern of BANNED) if (pattern.test(text)) offenders.push(`${name}: ${pattern}`);
    }
    expect(offenders).toEqual([]);
  });

  it("keep no mutable state at module level (no top-level let or var)", () => {
    // Reused buffers live with their stream (e.g. merge-scratch.ts in the BlockHome): a module-level
    // one is shared by every store in the process (session 13: block.ts's late-run scratch).
    const offenders: string[] = [];
    for (const name of readdirSync(ENGINE).filter((file) => file.endsWith(".ts"))) {
      const lines = readFileSync(ENGINE + name, "utf8").split("\n");
      lines.forEach((line, index) => {
        if (/^(export )?(let|var) /.test(line)) offenders.push(`${name}:${index + 1}: ${line}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  it("have no default export and import relatives with a .js suffix", () => {
    for (const name of readdirSync(ENGINE).filter((file) => file.endsWith(".ts"))) {
      const text = readFileSync(ENGINE + name, "utf8");
      expect(text, name).not.toMatch(/export default/);
      for (const match of text.matchAll(/from "(\.[^"]+)"/g)) {
        expect(match[1], name).toMatch(/\.js$/);
      }
    }
  });
});

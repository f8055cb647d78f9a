import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import {
  createNodeFileSystem, openEventStore,
} from "../../../examples/event-store/engine/index.js";
import { ModelStream } from "../../unit/event-store/model.js";
import { batchEvents, STREAM_SCHEMA } from "./batch-content.js";

/**
 * Real processes killed with SIGKILL at seeded random moments while they
 * apply batches (checkpoints included). After every kill the store reopens
 * at an applied index >= the last one the child acknowledged, holds exactly
 * the batches up to it, and its index passes the full invariant check; then
 * the next child continues from there.
 *
 * The same with walSync false (the replicated store's setting: no WAL
 * records, durable only at checkpoints): after every kill the store reopens
 * at a checkpoint — at most one batch past the last acknowledged (a
 * checkpoint runs inside a batch's applyBatch), never below the previous
 * reopen — holding exactly the batches up to it with an intact index; the
 * next child replays the batches above it, as raft replays its log.
 */
const WRITER = fileURLToPath(new URL("./crash-writer.ts", import.meta.url));
const ROUNDS = 6;
const directories: string[] = [];

afterAll(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

/** Runs the writer until `killAfterMs` after it opened, then SIGKILLs it; returns the last ack. */
function runAndKill(directory: string, killAfterMs: number, walSync: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath,
      ["--import", "tsx", WRITER, directory, ...(walSync ? [] : ["unsynced"])],
      { stdio: ["ignore", "pipe", "pipe"] });
    let acked = 0;
    let output = "";
    let errors = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (text: string) => {
      output += text;
      if (output.includes("opened") && !child.killed) {
        setTimeout(() => child.kill("SIGKILL"), killAfterMs);
        output = output.replace("opened", "started");
      }
      for (const match of output.matchAll(/acked (\d+)\n/g)) {
        acked = Math.max(acked, Number(match[1]));
      }
    });
    child.stderr.on("data", (text: Buffer) => {
      errors += text.toString();
    });
    child.on("error", reject);
    child.on("exit", (_code, signal) => {
      if (signal !== "SIGKILL") reject(new Error(`writer exited without a kill: ${errors}`));
      else resolve(acked);
    });
  });
}

describe("SIGKILL at random moments (real processes)", () => {
  it.each([
    { walSync: true, what: "at the last durable batch" },
    { walSync: false, what: "at its last checkpoint (walSync false, no WAL records)" },
  ])("reopens $what with an intact index, every time", async ({ walSync }) => {
    const directory = await mkdtemp(join(tmpdir(), "raftkit-engine-crash-"));
    directories.push(directory);
    let seed = 20261123;
    let reopenedAt = 0;
    for (let round = 0; round < ROUNDS; round++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      const acked = await runAndKill(directory, 50 + (seed % 700), walSync);
      const store = await openEventStore({ fileSystem: createNodeFileSystem(), directory, walSync });
      if (walSync) {
        expect(store.appliedIndex()).toBeGreaterThanOrEqual(acked);
      } else {
        expect(store.appliedIndex()).toBeLessThanOrEqual(acked + 1);
        expect(await walBytes(directory)).toBe(0);
      }
      expect(store.appliedIndex()).toBeGreaterThanOrEqual(reopenedAt);
      reopenedAt = store.appliedIndex();
      store.checkIntegrity();
      const model = new ModelStream(STREAM_SCHEMA);
      for (let index = 2; index <= store.appliedIndex(); index++) {
        for (const event of batchEvents(index)) {
          model.insert({ timestamp: event.timestamp, values: { price: event.price,
            quantity: event.quantity, venue: event.venue } });
        }
      }
      if (store.appliedIndex() >= 1) {
        expect(store.aggregate("ticks")).toEqual(model.aggregate(-Infinity, Infinity));
        const middle = model.events[model.events.length >>> 1]?.timestamp ?? 0;
        expect(store.aggregate("ticks", { from: middle - 3000, to: middle + 2000 }))
          .toEqual(model.aggregate(middle - 3000, middle + 2000));
        expect(store.latest("ticks")).toEqual(model.latest());
      }
      await store.close();
    }
    // Each round made progress (the children really wrote and checkpointed).
    expect(reopenedAt).toBeGreaterThan(ROUNDS * 5);
  }, 300_000);
});

/** Bytes in the store's WAL files (walSync false writes none). */
async function walBytes(directory: string): Promise<number> {
  let bytes = 0;
  for (const name of await readdir(directory)) {
    if (name.startsWith("wal-")) bytes += (await stat(join(directory, name))).size;
  }
  return bytes;
}

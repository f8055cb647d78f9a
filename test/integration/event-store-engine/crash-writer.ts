/**
 * Child process of the SIGKILL crash test: opens the store in argv[2] on the
 * real disk and applies batches forever, each with deterministic content
 * derived from its applied index (batch-content.ts), printing "acked <index>"
 * after each batch is durable. A small WAL limit makes checkpoints frequent,
 * so kills land in every phase: WAL append, apply, block writes, manifest rename.
 * With argv[3] "unsynced" the store runs with walSync false (as under raft): no
 * WAL records, "acked" means applied, and only checkpoints are durable.
 */
import {
  createNodeFileSystem, openEventStore,
} from "../../../examples/event-store/engine/index.js";
import { batchOperations, STREAM_SCHEMA } from "./batch-content.js";

const directory = process.argv[2];
if (directory === undefined) throw new Error("usage: crash-writer <directory> [unsynced]");
const walSync = process.argv[3] !== "unsynced";
const store = await openEventStore({ fileSystem: createNodeFileSystem(), directory,
  blockBytes: 4096, walCheckpointBytes: 256 * 1024, walSync });
if (store.appliedIndex() === 0) {
  await store.applyBatch([{ kind: "createStream", stream: "ticks", schema: STREAM_SCHEMA }], 1);
  process.stdout.write("acked 1\n");
}
process.stdout.write(`opened ${store.appliedIndex()}\n`);
for (let index = store.appliedIndex() + 1; ; index++) {
  await store.applyBatch(batchOperations(index), index);
  process.stdout.write(`acked ${index}\n`);
  // Unsynced, a batch does no I/O: yield to the event loop between batches, as a raft host
  // does (log writes, network), so the background checkpoint progresses batch by batch.
  if (!walSync) await new Promise((resolve) => setImmediate(resolve));
}

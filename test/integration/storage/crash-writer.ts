/**
 * Child process of crash.test.ts: appends to many groups in a loop with up to
 * six saves in flight (pipelined: each is issued before the ones before it are
 * durable), and prints one line per acknowledged (durable) save, numbered in
 * the order the saves were issued:
 *   ack <saveNumber> <groupId>:<firstIndex>:<lastIndex>:<term> ...
 * The parent SIGKILLs it at a random moment. Usage:
 *   node --import tsx crash-writer.ts <directory> <generation> <seed>
 */
import { createSeededRandom } from "../../../framework/raft/index.js";
import type { LogUpdate } from "../../../framework/storage/index.js";
import { openLogStore } from "../../../framework/storage/index.js";
import { makeEntry } from "../../unit/storage/helpers.js";

const groupCount = 40;
const savesInFlightMax = 6;

async function main(): Promise<void> {
  const [directory, generationText, seedText] = process.argv.slice(2);
  if (directory === undefined || generationText === undefined || seedText === undefined) {
    throw new Error("usage: crash-writer.ts <directory> <generation> <seed>");
  }
  const generation = Number(generationText);
  const random = createSeededRandom(Number(seedText));
  const store = await openLogStore({ directory, segmentBytes: 128 * 1024, cacheBytes: 64 * 1024 });
  const lastIndex = new Map<number, number>();
  for (let groupId = 1; groupId <= groupCount; groupId++) {
    lastIndex.set(groupId, store.storage(groupId).lastIndex());
  }
  process.stdout.write("ready\n");
  const inFlight = new Set<Promise<void>>();
  for (let round = 0; ; round++) {
    const updates: LogUpdate[] = [];
    const acked: string[] = [];
    for (let groupId = 1; groupId <= groupCount; groupId++) {
      if (random.nextInt(3) !== 0) continue;
      const first = lastIndex.get(groupId)! + 1;
      const count = 1 + random.nextInt(3);
      const size = random.nextInt(4) === 0 ? 2000 + random.nextInt(6000) : 8 + random.nextInt(200);
      const entries = Array.from({ length: count }, (_, i) =>
        makeEntry(groupId, first + i, generation, size),
      );
      lastIndex.set(groupId, first + count - 1);
      updates.push({
        groupId,
        entries,
        hardState: { term: generation, vote: 1, commit: first - 1 },
      });
      acked.push(`${groupId}:${first}:${first + count - 1}:${generation}`);
    }
    const save = store.save(updates).then(() => {
      process.stdout.write(`ack ${round} ${acked.join(" ")}\n`);
    });
    inFlight.add(save);
    void save.finally(() => inFlight.delete(save));
    if (round % 25 === 24) await compactAll(store, lastIndex);
    if (inFlight.size >= savesInFlightMax) await Promise.race(inFlight);
  }
}

async function compactAll(
  store: Awaited<ReturnType<typeof openLogStore>>,
  lastIndex: Map<number, number>,
): Promise<void> {
  for (const [groupId, last] of lastIndex) {
    const storage = store.storage(groupId);
    const target = last - 30;
    if (target >= storage.firstIndex() && target <= storage.lastIndex())
      await store.compact(groupId, target);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`crash-writer failed: ${String(error)}\n`);
  process.exit(1);
});

/**
 * What a written byte costs in system time depending on where its page-cache
 * page comes from (issue #8, session 13, WRITES: why the nodes' system time per
 * byte written rises later in a run).
 *
 *   npx tsx test/bench/fresh-pages.ts           (MIB=256 by default)
 *
 * Writes MIB MiB in 1 MiB buffered writes (no sync: the copy into the page
 * cache is what is measured) and prints this process's system CPU ms per
 * 256 MiB for:
 * 1. a new file (every page of the page cache a fresh allocation),
 * 2. the same file overwritten (the pages are cached: no allocation),
 * 3. a second new file,
 * 4. a third new file right after the first two were deleted (their pages
 *    just freed),
 * and then for anonymous memory: a fresh ArrayBuffer of MIB MiB filled once.
 * On this machine's VM (virtio balloon with free page reporting: a page free
 * for a while is handed back to the host, and its next use faults it in
 * again), a new page costs several times the copy itself.
 */
import { closeSync, openSync, unlinkSync, writeSync } from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const mebibytes = Number(process.env["MIB"] ?? 256);
const directory = mkdtempSync(join(tmpdir(), "fresh-pages-"));
const chunk = new Uint8Array(1024 * 1024).fill(5);

function systemMsPer256MiB(work: () => void): string {
  const before = process.cpuUsage();
  work();
  const used = process.cpuUsage(before);
  return `system ${(used.system / 1000 * 256 / mebibytes).toFixed(0)} ms, user ${(used.user / 1000 * 256 / mebibytes).toFixed(0)} ms per 256 MiB`;
}

function writeFile(path: string, create: boolean): void {
  const fd = openSync(path, create ? "wx" : "r+");
  try {
    for (let index = 0; index < mebibytes; index++) writeSync(fd, chunk, 0, chunk.byteLength, index * chunk.byteLength);
  } finally {
    closeSync(fd);
  }
}

try {
  const first = join(directory, "first");
  const second = join(directory, "second");
  console.log(`1. new file:                 ${systemMsPer256MiB(() => writeFile(first, true))}`);
  console.log(`2. same file overwritten:    ${systemMsPer256MiB(() => writeFile(first, false))}`);
  console.log(`3. second new file:          ${systemMsPer256MiB(() => writeFile(second, true))}`);
  unlinkSync(first);
  unlinkSync(second);
  console.log(`4. new file after deleting:  ${systemMsPer256MiB(() => writeFile(join(directory, "third"), true))}`);
  console.log(`5. fresh anonymous memory:   ${systemMsPer256MiB(() => {
    new Uint8Array(mebibytes * 1024 * 1024).fill(1);
  })}`);
} finally {
  rmSync(directory, { recursive: true, force: true });
}

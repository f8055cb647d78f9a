import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDataDirectory } from "../../../framework/server/data-directory.js";
import { isServerError, ServerErrorCode } from "../../../framework/server/index.js";

let root: string | undefined;
afterEach(async () => {
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe("data directory", () => {
  it("remembers the groups started on it across reopen", async () => {
    root = await mkdtemp(join(tmpdir(), "raftkit-data-"));
    const first = await openDataDirectory(root, 1, 9);
    await first.recordGroups([{ groupId: 4, voters: [1, 2, 3], stateMachine: "kv", join: false }]);
    await first.recordGroups([{ groupId: 5, voters: [1], stateMachine: "kv", join: true }]);
    const again = await openDataDirectory(root, 1, 9);
    expect([...again.groups.keys()]).toEqual([4, 5]);
    expect(again.groups.get(5)).toEqual({ groupId: 5, voters: [1], stateMachine: "kv", join: true });
  });

  it("refuses a directory of another node or cluster, and a damaged manifest", async () => {
    root = await mkdtemp(join(tmpdir(), "raftkit-data-"));
    await openDataDirectory(root, 1, 9);
    await expect(openDataDirectory(root, 2, 9)).rejects.toThrow(/belongs to node 1 of cluster 9, not node 2 of cluster 9/);
    const error = await openDataDirectory(root, 1, 8).catch((caught: unknown) => caught);
    expect(isServerError(error, ServerErrorCode.DataDirectoryMismatch)).toBe(true);
    await writeFile(join(root, "groups.json"), "{\"groups\": [{\"groupId\": \"x\"}]}");
    await expect(openDataDirectory(root, 1, 9)).rejects.toThrow(/groups.json: bad group record/);
  });

  it("keeps the ids of departed groups across reopen until they are recorded again", async () => {
    root = await mkdtemp(join(tmpdir(), "raftkit-data-"));
    const first = await openDataDirectory(root, 1, 9);
    const record = (groupId: number) => ({ groupId, voters: [1, 2, 3], stateMachine: "kv", join: false });
    await first.recordGroups([record(1), record(2)]);
    expect([...first.departed]).toEqual([]);
    await first.forgetGroups([2]);
    const again = await openDataDirectory(root, 1, 9);
    expect([...again.groups.keys()]).toEqual([1]);
    expect([...again.departed]).toEqual([2]);
    // Started here again (the controller placed a replica): no longer departed.
    await again.recordGroups([{ ...record(2), join: true }]);
    const third = await openDataDirectory(root, 1, 9);
    expect([...third.departed]).toEqual([]);
    expect(third.groups.get(2)?.join).toBe(true);
  });

  it("reads a manifest written before departed existed; refuses a bad departed list", async () => {
    root = await mkdtemp(join(tmpdir(), "raftkit-data-"));
    await openDataDirectory(root, 1, 9);
    const old = { groups: [{ groupId: 3, voters: [1], stateMachine: "kv", join: false }] };
    await writeFile(join(root, "groups.json"), JSON.stringify(old));
    const opened = await openDataDirectory(root, 1, 9);
    expect([...opened.groups.keys()]).toEqual([3]);
    expect(opened.departed.size).toBe(0);
    await writeFile(join(root, "groups.json"), JSON.stringify({ ...old, departed: [0] }));
    await expect(openDataDirectory(root, 1, 9)).rejects.toThrow(/bad departed list \[0\]/);
  });
});

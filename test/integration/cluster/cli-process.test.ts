import { describe, expect, it } from "vitest";
import { runCli } from "./node-processes.js";

describe("raftkit as a process", () => {
  it("exits 2 naming the bad flag, and with nothing on stdout", async () => {
    const result = await runCli(["start", "--id", "n1", "--listen", "127.0.0.1:7001", "--data", "/tmp/x", "--peers", "n1=127.0.0.1:7002"]);
    expect(result).toEqual({ code: 2, stdout: "", stderr: expect.stringContaining("--peers: lists this node n1 itself") });
  });
});

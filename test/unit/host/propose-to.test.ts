/**
 * NodeHost.proposeTo (the gateway's batches): the same results and refusals
 * as propose, each answer called exactly once, with and without command
 * packing.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ProposalAnswer } from "../../../framework/host/index.js";
import { HostErrorCode, isHostError } from "../../../framework/host/index.js";
import { bytes, HostCluster, text } from "./host-cluster.js";

let cluster: HostCluster | undefined;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

/** Records every call; `settled` resolves at the first. */
class RecordingAnswer implements ProposalAnswer {
  deadline = 0;
  readonly calls: string[] = [];
  /** Whether the first call came before proposeTo returned. */
  synchronous = false;
  returned = false;
  readonly settled: Promise<void>;
  private done: () => void = () => {};

  constructor() {
    this.settled = new Promise((resolve) => (this.done = resolve));
  }

  resolve(result: unknown): void {
    this.record(`ok:${text(result)}`);
  }

  reject(error: unknown): void {
    this.record(isHostError(error) ? error.code : `other:${String(error)}`);
  }

  private record(call: string): void {
    if (this.calls.length === 0) this.synchronous = !this.returned;
    this.calls.push(call);
    this.done();
  }
}

function proposeTo(cluster: HostCluster, nodeId: number, groupId: number, data: Uint8Array): RecordingAnswer {
  const answer = new RecordingAnswer();
  cluster.hosts.get(nodeId)!.proposeTo(groupId, data, { timeoutMs: 20_000 }, answer);
  answer.returned = true;
  return answer;
}

/** How a propose() settled, in the same words. */
function outcomeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    (result) => `ok:${text(result)}`,
    (error: unknown) => (isHostError(error) ? error.code : `other:${String(error)}`),
  );
}

describe("NodeHost.proposeTo", () => {
  for (const packed of [true, false]) {
    it(`answers as propose does, once per command (${packed ? "packed" : "one command per entry"})`, async () => {
      cluster = new HostCluster([1, 2, 3], { maxProposalBytes: 1024 });
      cluster.packed = packed;
      await cluster.startGroup(1);
      const leader = await cluster.waitForLeader(1);
      const follower = [1, 2, 3].find((id) => id !== leader)!;
      const host = cluster.hosts.get(leader)!;

      const answers = Array.from({ length: 20 }, (_, i) => proposeTo(cluster!, leader, 1, bytes(`set k${i % 3} v${i}`)));
      await Promise.all(answers.map((answer) => answer.settled));
      // Results in log order: each command of a key saw the previous one's value.
      expect(answers.map((answer) => answer.calls)).toEqual(
        Array.from({ length: 20 }, (_, i) => [`ok:${i < 3 ? "" : `v${i - 3}`}`]),
      );
      expect(answers.every((answer) => !answer.synchronous && answer.deadline > 0)).toBe(true);
      // The same as propose for the next one.
      expect(await outcomeOf(host.propose(1, bytes("set k0 again")))).toBe("ok:v18");

      // Refusals: synchronous, exactly once, the same codes as propose.
      const refusals: [number, number, Uint8Array, HostErrorCode][] = [
        [leader, 99, bytes("set a 1"), HostErrorCode.GroupNotFound],
        [leader, 1, new Uint8Array(2048), HostErrorCode.InvalidArgument],
      ];
      for (const [nodeId, groupId, data, code] of refusals) {
        const answer = proposeTo(cluster, nodeId, groupId, data);
        expect(answer.calls).toEqual([code]);
        expect(answer.synchronous).toBe(true);
        const alone = await outcomeOf(Promise.resolve().then(() => cluster!.hosts.get(nodeId)!.propose(groupId, data)));
        expect(alone).toBe(code);
      }
      // At a follower: refused NotLeader (packed: when the pack is proposed, with the others of its pack).
      const atFollower = [proposeTo(cluster, follower, 1, bytes("set f 1")), proposeTo(cluster, follower, 1, bytes("set f 2"))];
      await Promise.all(atFollower.map((answer) => answer.settled));
      expect(atFollower.map((answer) => answer.calls)).toEqual([[HostErrorCode.NotLeader], [HostErrorCode.NotLeader]]);
      expect(await outcomeOf(cluster.hosts.get(follower)!.propose(1, bytes("set f 3")))).toBe(HostErrorCode.NotLeader);

      // Nothing called twice after the fact.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect([...answers, ...atFollower].every((answer) => answer.calls.length === 1)).toBe(true);
    });
  }
});

/**
 * One client process of the cluster benchmark (test/bench/cluster.ts forks
 * several). It drives replicated 64 B kv puts through GatewayService
 * .ExecuteBatch: `lanes` loops per node, each sending one call of `batch`
 * puts for groups that node leads, waiting for the answer, sending the next.
 * A NotLeader outcome moves its group to the hinted leader (no pause).
 * Calls are encoded and answers decoded with the framework client's codec
 * (framework/server/gateway-wire.ts, as framework/client/node-channel.ts).
 *
 * Input: argv[2], JSON, a ClientPlan without its times; it prints "ready",
 * then reads one JSON line {startAt, stopAt} from stdin (the parent sends it
 * once every client is ready). Output: one JSON line (ClientReport) on stdout.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { decodeExecuteOutcome, executeBatchClientMethod, executeBatchRequestMessage } from "../../framework/server/gateway-wire.js";
import { encodeKvRequest, KvOp } from "../../framework/statemachine/index.js";
import { ExecuteKind } from "../../gen/raftkit/v1/gateway_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ExecuteRequestSchema } from "../../gen/raftkit/v1/gateway_pb.js";

export interface ClientPlan {
  readonly clientId: number;
  /** Node id → base URL. */
  readonly urls: Readonly<Record<string, string>>;
  /** Group id → leader node id, as the parent saw them. */
  readonly leaders: Readonly<Record<string, number>>;
  readonly lanesPerNode: number;
  readonly batch: number;
  /** Wall-clock ms (Date.now) at which to start and stop measuring. */
  readonly startAt: number;
  readonly stopAt: number;
}

export interface ClientReport {
  readonly clientId: number;
  /** Puts acknowledged between startAt and stopAt. */
  readonly operations: number;
  /** Outcomes that failed (NotLeader redirects included). */
  readonly failures: number;
  /** Latency of each acknowledged put (its call's duration), ms. */
  readonly latenciesMs: number[];
  readonly calls: number;
  /** Failed outcomes that were NotLeader refusals (the leader moved). */
  readonly notLeader: number;
  /** Failed outcomes by code and message (first 90 characters). */
  readonly failureKinds: Readonly<Record<string, number>>;
  /** Calls that failed as a whole (deadline, connection). */
  readonly failedCalls: number;
}

type RequestInit = MessageInitShape<typeof ExecuteRequestSchema>;

/** A 64-byte kv put: op + key length + 8-byte key + 51-byte value. */
const utf8 = new TextEncoder();

export function putCommand(groupId: number, lane: number, sequence: number): Uint8Array {
  const key = utf8.encode(`${(lane * 1_000_003 + sequence) % 1e8}`.padStart(8, "0"));
  const value = new Uint8Array(51).fill(groupId % 251);
  const encoded = encodeKvRequest({ op: KvOp.Put, key, value });
  if (encoded.byteLength !== 64) throw new Error(`command of ${encoded.byteLength} bytes, expected 64`);
  return encoded;
}

/** putCommand's bytes written at `at` of `into` (no allocation); returns the view. */
function writePutCommand(into: Uint8Array, at: number, groupId: number, lane: number, sequence: number): Uint8Array {
  into[at] = KvOp.Put;
  into[at + 4] = 8; // key length, 4 bytes big-endian
  let key = (lane * 1_000_003 + sequence) % 1e8;
  for (let i = 7; i >= 0; i--) {
    into[at + 5 + i] = 0x30 + (key % 10);
    key = Math.floor(key / 10);
  }
  into.fill(groupId % 251, at + 13, at + 64);
  return into.subarray(at, at + 64);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

async function runClient(plan: ClientPlan): Promise<ClientReport> {
  const clients = new Map(
    Object.entries(plan.urls).map(([nodeId, url]) => [
      Number(nodeId),
      createConnectTransport({
        baseUrl: url,
        httpVersion: "2",
        // No gzip on loopback: the node would otherwise compress every response
        // over 1 KiB (a batch's outcomes), 3-9 % of a node's CPU in the profile.
        acceptCompression: [],
      }),
    ]),
  );
  const leaders = new Map(Object.entries(plan.leaders).map(([group, node]) => [Number(group), node]));
  const latenciesMs: number[] = [];
  let operations = 0;
  let failures = 0;
  let calls = 0;
  let failedCalls = 0;
  let notLeader = 0;
  const failureKinds: Record<string, number> = {};
  const groupsLedBy = (nodeId: number): number[] =>
    [...leaders].filter(([, leader]) => leader === nodeId).map(([groupId]) => groupId);
  const lane = async (nodeId: number, laneId: number): Promise<void> => {
    const client = clients.get(nodeId)!;
    let sequence = 0;
    let cursor = laneId;
    while (Date.now() < plan.stopAt) {
      const groups = groupsLedBy(nodeId);
      if (groups.length === 0) return;
      const requests: RequestInit[] = [];
      const groupOf: number[] = [];
      // The call's commands side by side in one buffer (the bytes putCommand gives, checked once per call).
      const commands = new Uint8Array(plan.batch * 64);
      const keyLane = plan.clientId * 1000 + laneId;
      for (let i = 0; i < plan.batch; i++) {
        const groupId = groups[cursor++ % groups.length]!;
        const payload = writePutCommand(commands, i * 64, groupId, keyLane, sequence);
        if (i === 0 && !sameBytes(payload, putCommand(groupId, keyLane, sequence))) {
          throw new Error("cluster-client: writePutCommand differs from putCommand");
        }
        sequence++;
        requests.push({ groupId: BigInt(groupId), kind: ExecuteKind.COMMAND, payload });
        groupOf.push(groupId);
      }
      const began = Date.now();
      let outcomes: readonly Uint8Array[];
      try {
        const message = executeBatchRequestMessage(requests);
        outcomes = (await client.unary(executeBatchClientMethod, undefined, 30_000, undefined, message)).message.outcomes;
      } catch (error) {
        failedCalls++; // a timed-out or broken call: its puts count as failed outcomes
        failures += requests.length;
        const why = `call failed: ${error instanceof ConnectError ? `${Code[error.code]} ${error.rawMessage}` : String(error)}`.slice(0, 110);
        failureKinds[why] = (failureKinds[why] ?? 0) + requests.length;
        continue;
      }
      const ended = Date.now();
      calls++;
      // Throughput counts the puts whose call completed inside the window (long calls that
      // began in the warm-up count too); latency only calls wholly inside it.
      const completedInWindow = ended >= plan.startAt && ended <= plan.stopAt;
      const measured = began >= plan.startAt && completedInWindow;
      outcomes.forEach((bytes, i) => {
        const outcome = decodeExecuteOutcome(bytes, i);
        if (outcome.outcome.case === "response") {
          if (!completedInWindow) return;
          operations++;
          if (measured) latenciesMs.push(ended - began);
          return;
        }
        failures++;
        if (outcome.outcome.value?.notLeader !== undefined) notLeader++;
        const code = outcome.outcome.value?.code;
        const why = `${code === undefined ? "?" : (Code[code] ?? code)} ${outcome.outcome.value?.message ?? ""}`.slice(0, 110);
        failureKinds[why] = (failureKinds[why] ?? 0) + 1;
        const hint = outcome.outcome.value?.notLeader;
        if (hint !== undefined && hint.leaderNodeId !== 0n) {
          leaders.set(groupOf[i]!, Number(hint.leaderNodeId));
        }
      });
    }
  };
  const lanes: Promise<void>[] = [];
  for (const nodeId of clients.keys()) {
    for (let laneId = 0; laneId < plan.lanesPerNode; laneId++) lanes.push(lane(nodeId, laneId));
  }
  await Promise.all(lanes);
  return { clientId: plan.clientId, operations, failures, notLeader, failureKinds, latenciesMs, calls, failedCalls };
}

async function readTimes(): Promise<{ startAt: number; stopAt: number }> {
  let input = "";
  for await (const chunk of process.stdin) {
    input += String(chunk);
    if (input.includes("\n")) break;
  }
  const times: unknown = JSON.parse(input.split("\n")[0]!);
  if (typeof times !== "object" || times === null || !("startAt" in times) || !("stopAt" in times)) {
    throw new Error(`cluster-client: bad times ${input}`);
  }
  return { startAt: Number(times.startAt), stopAt: Number(times.stopAt) };
}

// The parent wrote this plan (cluster.ts); a malformed one fails loudly below.
const given: Omit<ClientPlan, "startAt" | "stopAt"> = JSON.parse(process.argv[2] ?? "null");
if (given === null || typeof given.batch !== "number" || typeof given.lanesPerNode !== "number") {
  throw new Error(`cluster-client: bad plan ${process.argv[2]}`);
}
process.stdout.write("ready\n");
const plan: ClientPlan = { ...given, ...(await readTimes()) };
const report = await runClient(plan);
process.stdout.write(`${JSON.stringify(report)}\n`);

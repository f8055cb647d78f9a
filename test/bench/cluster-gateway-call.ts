/**
 * The per-call cost of the gateway's ExecuteBatch on the node's side, without
 * raft: a server process answers every call at once (one empty result per
 * request, as a kv put's), served either by connect's handler
 * (connectNodeAdapter, what the node used before) or by the Connect unary
 * route (connect-batch-route.ts); this process sends the calls (Connect
 * protocol, proto, HTTP/2, `--in-flight` at once, `--batch` 64-byte requests
 * each) and prints the server's CPU per call, read from /proc.
 *
 *   npx tsx test/bench/cluster-gateway-call.ts [--calls 4000] [--batch 256] [--in-flight 6] [--modes connect,route,connect,route]
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import { createConnectBatchRoute } from "../../framework/server/connect-batch-route.js";
import type { BinaryBatchRequest, BinaryBatchResponse } from "../../framework/server/gateway-service.js";
import {
  executeBatchClientMethod,
  executeBatchRequestMessage,
  executeBatchServerMethod,
  OutcomeWriter,
} from "../../framework/server/gateway-wire.js";
import { ExecuteKind } from "../../gen/raftkit/v1/gateway_pb.js";

const emptyResult = new Uint8Array([0]);

async function answer(request: BinaryBatchRequest): Promise<BinaryBatchResponse> {
  const writer = new OutcomeWriter(request.requests.length);
  for (let i = 0; i < request.requests.length; i++) writer.response(i, emptyResult);
  return writer.message();
}

function runServer(mode: string): void {
  const adapter = connectNodeAdapter({
    routes: (router) => router.rpc(executeBatchServerMethod, (request) => answer(request), { readMaxBytes: 1 << 24 }),
  });
  const route = createConnectBatchRoute((request) => answer(request), 1 << 24);
  const server = http2.createServer((request, response) => {
    if (mode === "route" && route.serve(request, response)) return;
    adapter(request, response);
  });
  server.listen(0, "127.0.0.1", () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
}

function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, 100 ticks per second
}

async function measure(mode: string, calls: number, batch: number, inFlight: number): Promise<string> {
  const child: ChildProcess = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--serve", mode], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const port = await new Promise<number>((done, failed) => {
      child.stdout!.once("data", (chunk: Buffer) => done(Number(chunk.toString().trim())));
      child.once("exit", (code) => failed(new Error(`server exited with ${code}`)));
    });
    const transport = createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "2", acceptCompression: [] });
    const requests = Array.from({ length: batch }, (_, i) => ({
      groupId: BigInt(1 + (i % 64)),
      kind: ExecuteKind.COMMAND,
      payload: new Uint8Array(64).fill(i & 0xff),
    }));
    const message = executeBatchRequestMessage(requests);
    const one = async (): Promise<void> => {
      const reply = await transport.unary(executeBatchClientMethod, undefined, 30_000, undefined, message);
      if (reply.message.outcomes.length !== batch) throw new Error(`${reply.message.outcomes.length} outcomes for ${batch}`);
    };
    for (let i = 0; i < 200; i++) await one(); // warm-up
    let left = calls;
    const cpuBefore = cpuMsOf(child.pid!);
    const began = Date.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (left-- > 0) await one();
      }),
    );
    const wallMs = Date.now() - began;
    const cpuMs = cpuMsOf(child.pid!) - cpuBefore;
    return (
      `${mode.padEnd(7)}: ${calls} calls × ${batch} in ${wallMs} ms; server CPU ${((cpuMs * 1000) / calls).toFixed(0)} µs per call ` +
      `(${((cpuMs * 1000) / (calls * batch)).toFixed(2)} µs per request); load ${loadavg().map((l) => l.toFixed(2)).join(" ")}`
    );
  } finally {
    child.kill("SIGKILL");
  }
}

const { values } = parseArgs({
  options: {
    serve: { type: "string" },
    calls: { type: "string", default: "4000" },
    batch: { type: "string", default: "256" },
    "in-flight": { type: "string", default: "6" },
    modes: { type: "string", default: "connect,route,connect,route" },
  },
});
if (values.serve !== undefined) {
  runServer(values.serve);
} else {
  for (const mode of values.modes.split(",")) {
    if (mode !== "connect" && mode !== "route") throw new Error(`--modes: ${mode} is neither connect nor route`);
    console.log(await measure(mode, Number(values.calls), Number(values.batch), Number(values["in-flight"])));
  }
}

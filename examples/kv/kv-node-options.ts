import { parseArgs } from "node:util";
import type { NodeConfig } from "../../framework/server/index.js";

/** The state machine name of kv.v1.KvService (its `state_machine` option). */
export const kvStateMachineName = "kvstore";

export const kvNodeUsage =
  "usage: kv-node --id n1 --listen 127.0.0.1:7001 --peers n2=127.0.0.1:7002,n3=127.0.0.1:7003 " +
  "--data ./data/n1 [--partitions 1-4]";

/**
 * Flags of the kv example's node process → NodeConfig. Every partition of
 * --partitions runs on every node (a static table; the client routes keys
 * over the same table). Throws a RangeError naming the flag at fault.
 */
export function parseKvNodeArgs(args: readonly string[]): NodeConfig {
  const { values } = parseArgs({
    args: [...args],
    options: {
      id: { type: "string" },
      listen: { type: "string" },
      peers: { type: "string", default: "" },
      data: { type: "string" },
      partitions: { type: "string", default: "1-4" },
    },
    strict: true,
  });
  const nodeId = parseNodeName("--id", required("--id", values.id));
  const [listenHost, listenPort] = parseAddress("--listen", required("--listen", values.listen));
  const peers = new Map<number, string>();
  for (const entry of values.peers.split(",").filter((part) => part !== "")) {
    const [name, address] = entry.split("=");
    if (name === undefined || address === undefined) {
      throw new RangeError(`--peers: "${entry}", expected n<id>=host:port`);
    }
    parseAddress("--peers", address);
    peers.set(parseNodeName("--peers", name), address);
  }
  return {
    nodeId,
    listenHost,
    listenPort,
    peers,
    dataDirectory: required("--data", values.data),
    clusterId: 1,
    groups: parseRanges(values.partitions),
    stateMachine: kvStateMachineName,
    host: {},
    transport: {},
    shutdownGraceMs: 2_000,
  };
}

function required(flag: string, value: string | undefined): string {
  if (value === undefined || value === "") {
    throw new RangeError(`${flag} is required; ${kvNodeUsage}`);
  }
  return value;
}

function parseNodeName(flag: string, name: string): number {
  const match = /^n([1-9][0-9]*)$/.exec(name);
  const id = match === null ? Number.NaN : Number(match[1]);
  if (!Number.isSafeInteger(id)) {
    throw new RangeError(`${flag}: "${name}", expected n<id>, e.g. n1`);
  }
  return id;
}

function parseAddress(flag: string, address: string): [string, number] {
  const match = /^([^:]+):([0-9]{1,5})$/.exec(address);
  const port = match === null ? Number.NaN : Number(match[2]);
  if (match === null || !(port >= 1 && port <= 65535)) {
    throw new RangeError(`${flag}: "${address}", expected host:port with a port in 1..65535`);
  }
  return [match[1] ?? "", port];
}

/** "1-4" or "1,3,7-9" → ascending, distinct partition ids. */
export function parseRanges(text: string): number[] {
  const ids = new Set<number>();
  for (const part of text.split(",")) {
    const match = /^([1-9][0-9]*)(?:-([1-9][0-9]*))?$/.exec(part.trim());
    const first = Number(match?.[1]);
    const last = match?.[2] === undefined ? first : Number(match[2]);
    if (match === null || last < first || last - first >= 100_000) {
      throw new RangeError(`--partitions: "${part}", expected ids ≥ 1 like 1-4 or 1,3,7-9`);
    }
    for (let id = first; id <= last; id += 1) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const nodeMain = fileURLToPath(new URL("../node/node-main.ts", import.meta.url));

/**
 * V8 flags of every node process (EVENTSTORE_NODE_ARGS comes after them and
 * can override each). A node's GC pauses stop its loop while acks wait (issue
 * #8's p99; TAIL's latency trace, session 11): per node per 30 s of open loop
 * at 2,000 + 20,000 events/s the defaults ran 1-13 mark-compacts (2-39 ms
 * each, all but one flagged "schedule idle" (64) by V8: the memory reducer
 * and the old generation's growth in a young process) and 16-36 scavenges
 * (p50 2.8-11 ms on this loaded 2-core box); with these flags 0-2 and 15-25.
 * - a 32 MB semi-space (default grows to 16 MB): fewer scavenges, each about
 *   as long (its cost is what survives: the entries and inserts in flight);
 * - an old space that starts at 128 MB: a fresh process does not collect its
 *   way up from a few MB (the first phase after start had the worst tail);
 * - no memory reducer: it starts full GCs when the allocation rate drops,
 *   i.e. exactly at the moderate rates whose latency the issue measures.
 */
const NODE_V8_FLAGS = ["--max-semi-space-size=32", "--initial-old-space-size=128", "--no-memory-reducer"];

export interface LocalClusterOptions {
  /** Each node's data goes to <dataDirectory>/n<id>, its log to <dataDirectory>/n<id>.log. */
  readonly dataDirectory: string;
  /** Ports basePort+1 … basePort+nodes; 0: free ports picked by the system. */
  readonly basePort?: number;
  readonly nodeCount?: number;
  /** Partitions (raft groups), e.g. "1-4". */
  readonly groups?: string;
  /** Further node flags, e.g. ["--tick-ms", "50"]. */
  readonly flags?: readonly string[];
  /** How long a node may take to print its ready line (default 60 s). */
  readonly readyTimeoutMs?: number;
}

export interface LocalNode {
  readonly nodeId: number;
  readonly port: number;
  readonly url: string;
  process: ChildProcess | undefined;
}

/** Three (or n) event store node processes on 127.0.0.1, for `npm start`, tests and the benchmark. */
export interface LocalCluster {
  readonly nodes: readonly LocalNode[];
  readonly urls: readonly string[];
  /** Sends a signal to one node and waits for it to exit. */
  kill(nodeId: number, signal: NodeJS.Signals): Promise<void>;
  /** Starts a stopped node again (same data) and waits until it is ready. */
  restart(nodeId: number): Promise<void>;
  /** SIGTERM to every running node, then waits for all to exit (SIGKILL after 15 s). */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => child.once("exit", () => resolveExit()));
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const count = options.nodeCount ?? 3;
  const ports: number[] = [];
  for (let index = 1; index <= count; index++) {
    ports.push(options.basePort === undefined || options.basePort === 0 ? await freePort() : options.basePort + index);
  }
  const nodes: LocalNode[] = ports.map((port, index) => ({
    nodeId: index + 1, port, url: `http://127.0.0.1:${port}`, process: undefined,
  }));
  const dataDirectory = resolve(options.dataDirectory);
  mkdirSync(dataDirectory, { recursive: true });
  const launch = (node: LocalNode): Promise<void> => {
    const peers = nodes.filter((other) => other !== node).map((other) => `n${other.nodeId}=127.0.0.1:${other.port}`).join(",");
    // EVENTSTORE_NODE_ARGS: extra node options for the node processes (e.g. --cpu-prof), after NODE_V8_FLAGS.
    const nodeArgs = [...NODE_V8_FLAGS, ...(process.env["EVENTSTORE_NODE_ARGS"] ?? "").split(" ").filter((arg) => arg !== "")];
    const child = spawn(process.execPath, [
      ...nodeArgs, "--import", "tsx", nodeMain, "--id", `n${node.nodeId}`, "--listen", `127.0.0.1:${node.port}`,
      "--peers", peers, "--data", join(dataDirectory, `n${node.nodeId}`), "--groups", options.groups ?? "1-4",
      ...(options.flags ?? []),
    ], { stdio: ["ignore", "pipe", "pipe"] });
    node.process = child;
    const log = createWriteStream(join(dataDirectory, `n${node.nodeId}.log`), { flags: "a" });
    child.stderr!.pipe(log);
    return new Promise((resolveReady, reject) => {
      let seen = "";
      const timer = setTimeout(() => reject(new Error(`node n${node.nodeId} not ready within the timeout; see its log`)),
        options.readyTimeoutMs ?? 60_000);
      child.stdout!.on("data", (chunk: Buffer) => {
        log.write(chunk);
        if (seen !== "ready") {
          seen = (seen + chunk.toString()).slice(-4096);
          if (seen.includes('"event":"ready"')) {
            seen = "ready";
            clearTimeout(timer);
            resolveReady();
          }
        }
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        if (seen !== "ready") reject(new Error(`node n${node.nodeId} exited (${code ?? signal}) before it was ready; see ${dataDirectory}/n${node.nodeId}.log`));
      });
    });
  };
  await Promise.all(nodes.map(launch));
  const byId = (nodeId: number): LocalNode => {
    const node = nodes.find((candidate) => candidate.nodeId === nodeId);
    if (node === undefined) throw new RangeError(`no node n${nodeId}`);
    return node;
  };
  return {
    nodes,
    urls: nodes.map((node) => node.url),
    async kill(nodeId, signal) {
      const child = byId(nodeId).process;
      if (child === undefined) return;
      child.kill(signal);
      await exited(child);
      byId(nodeId).process = undefined;
    },
    restart: (nodeId) => launch(byId(nodeId)),
    async stop() {
      await Promise.all(nodes.map(async (node) => {
        const child = node.process;
        if (child === undefined) return;
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
        await exited(child);
        clearTimeout(timer);
        node.process = undefined;
      }));
    },
  };
}

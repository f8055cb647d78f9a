import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { appendFileSync, mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const projectRoot = resolve(import.meta.dirname, "../../..");
const mainEntry = join(projectRoot, "framework/cli/main.ts");

/** Ports free right now on 127.0.0.1 (bound and released; good enough for tests). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<net.Server>((done, fail) => {
        const server = net.createServer();
        server.once("error", fail);
        server.listen(0, "127.0.0.1", () => done(server));
      }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}

/** Polls until `condition` holds; fails naming `what` after `limitMs` (a bound, never a timing assertion). */
export async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, limitMs = 30_000): Promise<void> {
  const start = Date.now();
  let lastError: unknown;
  for (;;) {
    try {
      if (await condition()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() - start > limitMs) {
      throw new Error(`timed out after ${limitMs} ms waiting for ${what}${lastError === undefined ? "" : `: ${String(lastError)}`}`);
    }
    await new Promise((done) => setTimeout(done, 50));
  }
}

/** Runs the CLI to completion (for usage errors); resolves with its exit code and output. */
export function runCli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ["--import", "tsx", mainEntry, ...args], { cwd: projectRoot });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("exit", (code) => done({ code, stdout, stderr }));
  });
}

/** One `raftkit start` child process. */
export class NodeProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);
  output = "";

  /** `entry`: the script to run (default the raftkit CLI; its "start" is added then). */
  constructor(
    readonly nodeId: number,
    readonly port: number,
    private readonly args: readonly string[],
    private readonly entry: string | undefined = undefined,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Spawns the process and waits for its "node started" log line. */
  async start(limitMs = 60_000): Promise<void> {
    if (this.child !== undefined) throw new Error(`n${this.nodeId} already runs`);
    const script = this.entry === undefined ? [mainEntry, "start"] : [this.entry];
    const child = spawn(process.execPath, ["--import", "tsx", ...script, ...this.args], {
      cwd: projectRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    const startedBefore = this.startedCount();
    // RAFTKIT_TEST_LOG_DIR keeps every node's output on disk (the rest of the time it lives
    // in memory only), to read after a failed run: n<id>.log per node, appended across restarts.
    const logDir = process.env.RAFTKIT_TEST_LOG_DIR;
    // Made here: a missing directory would fail every append inside a stream handler.
    if (logDir !== undefined) mkdirSync(logDir, { recursive: true });
    const keep = (chunk: Buffer): void => {
      this.output += chunk.toString();
      if (logDir !== undefined) appendFileSync(join(logDir, `n${this.nodeId}.log`), chunk);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    this.exited = new Promise((done) => child.on("exit", (code) => {
      if (this.child === child) this.child = undefined;
      done(code);
    }));
    await waitUntil(`n${this.nodeId} to start`, () => {
      if (this.child !== child) throw new Error(`n${this.nodeId} exited during start:\n${this.output}`);
      return this.startedCount() > startedBefore;
    }, limitMs);
  }

  private startedCount(): number {
    return this.output.split('"msg":"node started"').length - 1;
  }

  /** Sends `signal` and waits for the exit; resolves with the exit code (null after a kill signal). */
  async stop(signal: NodeJS.Signals): Promise<number | null> {
    const child = this.child;
    if (child === undefined) return null;
    const exited = this.exited;
    child.kill(signal);
    return exited;
  }

  logLines(): Array<Record<string, unknown>> {
    return this.output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export interface ClusterOptions {
  readonly nodes: number;
  readonly groups?: string;
  /** Extra flags for every node. */
  readonly flags?: readonly string[];
  /** A node entry script taking `raftkit start`'s flags (e.g. one registering a test state machine). */
  readonly entry?: string;
}

/** N node processes on loopback with fresh data directories; `close` kills them and removes the data. */
export class ProcessCluster {
  readonly nodes: NodeProcess[] = [];
  private constructor(readonly directory: string) {}

  static async create(options: ClusterOptions): Promise<ProcessCluster> {
    const cluster = new ProcessCluster(await mkdtemp(join(tmpdir(), "raftkit-cluster-")));
    const ports = await freePorts(options.nodes);
    const ids = ports.map((_, index) => index + 1);
    for (const id of ids) {
      const peers = ids.filter((peer) => peer !== id).map((peer) => `n${peer}=127.0.0.1:${ports[peer - 1]}`);
      const args = [
        "--id", `n${id}`,
        "--listen", `127.0.0.1:${ports[id - 1]}`,
        "--peers", peers.join(","),
        "--data", join(cluster.directory, `n${id}`),
        ...(options.groups === undefined ? [] : ["--groups", options.groups]),
        ...(options.flags ?? []),
      ];
      cluster.nodes.push(new NodeProcess(id, ports[id - 1]!, args, options.entry));
    }
    return cluster;
  }

  node(id: number): NodeProcess {
    const node = this.nodes[id - 1];
    if (node === undefined) throw new Error(`no node n${id}`);
    return node;
  }

  async startAll(limitMs?: number): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.start(limitMs)));
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop("SIGKILL")));
    await rm(this.directory, { recursive: true, force: true });
  }
}

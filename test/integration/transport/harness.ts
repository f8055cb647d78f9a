import * as http2 from "node:http2";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { NodeId } from "../../../framework/raft/index.js";
import { createSeededRandom } from "../../../framework/raft/index.js";
import type {
  Clock,
  LogFields,
  Logger,
  Transport,
  TransportLimits,
} from "../../../framework/transport/index.js";
import {
  createConnectTransport,
  createSystemClock,
  createTransportLimits,
  registerTransportService,
} from "../../../framework/transport/index.js";
import { RecordingHandler } from "../../unit/transport/helpers.js";

export interface LogEntry {
  readonly level: "debug" | "info" | "warn" | "error";
  readonly message: string;
  readonly fields: LogFields | undefined;
}

export class RecordingLogger implements Logger {
  readonly entries: LogEntry[] = [];
  debug(message: string, fields?: LogFields): void {
    this.entries.push({ level: "debug", message, fields });
  }
  info(message: string, fields?: LogFields): void {
    this.entries.push({ level: "info", message, fields });
  }
  warn(message: string, fields?: LogFields): void {
    this.entries.push({ level: "warn", message, fields });
  }
  error(message: string, fields?: LogFields): void {
    this.entries.push({ level: "error", message, fields });
  }
  has(level: LogEntry["level"], pattern: RegExp): boolean {
    return this.entries.some(
      (entry) =>
        entry.level === level && pattern.test(entry.message + JSON.stringify(entry.fields)),
    );
  }
}

/** Polls `condition` until it holds; fails naming `what` after `deadlineMs` (a bound only). */
export async function waitFor(
  what: string,
  condition: () => boolean,
  deadlineMs = 15_000,
): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > deadlineMs)
      throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const clusterId = 42;

/** One node: a transport plus an h2c server on 127.0.0.1 serving the transport service. */
export class TestNode {
  readonly handler = new RecordingHandler();
  readonly logger = new RecordingLogger();
  readonly limits: TransportLimits;
  readonly transport: Transport;
  private server: http2.Http2Server | undefined;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  port = 0;

  constructor(
    readonly nodeId: NodeId,
    addresses: Map<NodeId, string>,
    limits: Partial<TransportLimits> = {},
    clock: Clock = createSystemClock(),
  ) {
    this.limits = createTransportLimits({
      ackTimeoutMs: 2000,
      backoffInitialMs: 20,
      backoffMaxMs: 200,
      ...limits,
    });
    this.transport = createConnectTransport({
      nodeId,
      clusterId,
      resolvePeer: (peer) => addresses.get(peer),
      handler: this.handler,
      clock,
      random: createSeededRandom(nodeId),
      logger: this.logger,
      limits: this.limits,
    });
  }

  async startServer(port = 0): Promise<string> {
    const adapter = connectNodeAdapter({
      routes: (router) =>
        registerTransportService(router, {
          nodeId: this.nodeId,
          clusterId,
          handler: this.handler,
          limits: this.limits,
          logger: this.logger,
        }),
    });
    const server = http2.createServer(adapter);
    server.on("session", (session) => {
      this.sessions.add(session);
      session.on("close", () => this.sessions.delete(session));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    this.server = server;
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("expected a TCP address");
    this.port = address.port;
    return `http://127.0.0.1:${this.port}`;
  }

  /** Stops the server and cuts every open connection, as a crashed process would. */
  async stopServer(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const session of this.sessions) session.destroy();
    await closed;
  }

  async stop(): Promise<void> {
    await this.transport.close();
    await this.stopServer();
  }
}

export async function startCluster(
  nodeIds: readonly NodeId[],
  limits: Partial<TransportLimits> = {},
): Promise<{ nodes: TestNode[]; addresses: Map<NodeId, string> }> {
  const addresses = new Map<NodeId, string>();
  const nodes = nodeIds.map((nodeId) => new TestNode(nodeId, addresses, limits));
  for (const node of nodes) {
    addresses.set(node.nodeId, await node.startServer());
    await node.transport.start();
  }
  return { nodes, addresses };
}

import { join } from "node:path";
import { createPinoLogger } from "../../../framework/cli/pino-logger.js";
import { resolveStartSettings } from "../../../framework/cli/start-settings.js";
import { createUiHandler } from "../../../framework/ui/index.js";
import { startEventStoreNode } from "./event-store-node.js";
import { startLoopStallMonitor } from "./loop-stall-monitor.js";
import { startLatencyTrace } from "./latency-trace.js";
import { startProcessDiagnostics } from "./process-diagnostics.js";

/**
 * Process entry of an event store node: `raftkit start`'s flags (same
 * names, same checks; --state-machine defaults to eventstore here), e.g.
 *   tsx examples/event-store/node/node-main.ts --id n1 --listen 127.0.0.1:7001 \
 *     --peers n2=127.0.0.1:7002,n3=127.0.0.1:7003 --data ./data/n1 --groups 1-4
 * SIGINT/SIGTERM stop it gracefully (exit 0).
 */
function parseFlags(argv: readonly string[]): Record<string, string> {
  const flags: Record<string, string> = { stateMachine: "eventstore" };
  for (let index = 0; index < argv.length; index += 2) {
    const flag = argv[index]!;
    const value = argv[index + 1];
    if (!flag.startsWith("--") || value === undefined) {
      throw new Error(`usage: expected --flag value pairs, got '${flag}'${value === undefined ? " without a value" : ""}`);
    }
    flags[flag.slice(2).replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase())] = value;
  }
  return flags;
}

let settings;
try {
  settings = resolveStartSettings(parseFlags(process.argv.slice(2)), {});
} catch (error) {
  process.stderr.write(`event-store node: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}
const logger = createPinoLogger(settings.logLevel, { node: `n${settings.node.nodeId}` });
const fallback = createUiHandler({
  nodeId: settings.node.nodeId,
  peers: settings.node.peers,
  onError: (message, error) => logger.warn(message, { error: String(error) }),
});
// EVENTSTORE_TRACE=<directory>: a latency trace of this node to <directory>/n<id>.trace (latency-trace.ts); off by default.
const traceDirectory = process.env["EVENTSTORE_TRACE"] ?? "";
const trace = traceDirectory === "" ? undefined : startLatencyTrace({
  path: join(traceDirectory, `n${settings.node.nodeId}.trace`),
  now: () => performance.timeOrigin + performance.now(),
});
await trace?.traceFileHandles();
const running = await startEventStoreNode(settings.node, logger, { fallback }, trace);
const stalls = startLoopStallMonitor(logger);
// EVENTSTORE_DIAG=<directory>: this process's counters every 250 ms to <directory>/n<id>.diag (the benchmark's DIAG=1).
const diagnosticsDirectory = process.env["EVENTSTORE_DIAG"] ?? "";
const diagnostics = diagnosticsDirectory === "" ? undefined : startProcessDiagnostics({
  path: join(diagnosticsDirectory, `n${settings.node.nodeId}.diag`),
  extra: () => running.counters(),
});
process.stdout.write(`${JSON.stringify({ event: "ready", nodeId: settings.node.nodeId, port: running.node.port })}\n`);
const signal = await new Promise<string>((resolve) => {
  process.once("SIGTERM", () => resolve("SIGTERM"));
  process.once("SIGINT", () => resolve("SIGINT"));
});
logger.info("shutting down", { signal });
stalls.stop();
diagnostics?.stop();
await running.stop();
trace?.stop();
logger.flush();
await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
process.exit(0);

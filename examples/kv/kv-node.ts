/**
 * The kv example's node process: raftkit's node (transport, gateway, node
 * services on one port) with the kv state machine bound through the
 * generated DI glue. `npx tsx examples/kv/kv-node.ts --help` prints usage.
 */
import "reflect-metadata";
import { Container } from "inversify";
import { pino } from "pino";
import { LoggerToken, startNodeFromContainer } from "../../framework/di/index.js";
import type { Logger } from "../../framework/transport/index.js";
import { bindKvService } from "./gen/kv/v1/kv_raftkit_di.js";
import { KvExecutor } from "./kv-executor.js";
import { kvNodeUsage, parseKvNodeArgs } from "./kv-node-options.js";

function createJsonLogger(nodeId: number): Logger {
  const logger = pino({ base: { pid: process.pid, node: `n${nodeId}` } });
  return {
    debug: (message, fields) => logger.debug(fields ?? {}, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
  };
}

const args = process.argv.slice(2);
if (args.includes("--help")) {
  process.stdout.write(`${kvNodeUsage}\n`);
  process.exit(0);
}
let config;
try {
  config = parseKvNodeArgs(args);
} catch (error) {
  process.stderr.write(`kv-node: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}
// The container makes everything: the generated glue binds the kv executor's
// provider; with no ClusterManager bound, the node's --groups become a static
// table in which every node hosts every partition.
const container = new Container();
container.bind(LoggerToken).toConstantValue(createJsonLogger(config.nodeId));
bindKvService(container, KvExecutor);
const node = await startNodeFromContainer(container, config);
const signal = await new Promise<string>((resolve) => {
  process.once("SIGTERM", () => resolve("SIGTERM"));
  process.once("SIGINT", () => resolve("SIGINT"));
});
process.stderr.write(`kv-node n${config.nodeId}: ${signal}, stopping\n`);
await node.stop();
process.exit(0);

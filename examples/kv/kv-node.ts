/**
 * The kv example's node process: raftkit's node (transport, gateway, node
 * services on one port) with the kv state machine bound through the
 * generated DI glue. `npx tsx examples/kv/kv-node.ts --help` prints usage.
 */
import "reflect-metadata";
import { Container } from "inversify";
import { pino } from "pino";
import type { PartitionInfo } from "../../framework/cluster/index.js";
import {
  createPartitionScopeFactory,
  PartitionScopeFactoryToken,
  resolveProviders,
} from "../../framework/di/index.js";
import type { NodeConfig } from "../../framework/server/index.js";
import { startNode } from "../../framework/server/index.js";
import type { StateMachineFactory } from "../../framework/statemachine/index.js";
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
/**
 * The container's StateMachineProviders as the node's state machine types.
 * Why not startNodeFromContainer: partitions it starts bypass the server's
 * group launcher, so the gateway's typed (JSON) form — the README's curl
 * calls — does not find them yet. Started through startNode's groups, they
 * are found. Every node hosts every partition (a static table).
 */
function stateMachineTypes(
  container: Container,
  nodeConfig: NodeConfig,
): Map<string, StateMachineFactory> {
  const scopes = createPartitionScopeFactory(container);
  container.bind(PartitionScopeFactoryToken).toConstantValue(scopes);
  const replicas = [nodeConfig.nodeId, ...nodeConfig.peers.keys()].sort((a, b) => a - b);
  const partitionOf = (partitionId: number, type: string): PartitionInfo => ({
    partitionId, stateMachineType: type, replicationFactor: replicas.length, replicas, epoch: 1,
  });
  const types = new Map<string, StateMachineFactory>();
  for (const [type, provider] of resolveProviders(container)) {
    types.set(type, (groupId, replicaId) => provider.create(partitionOf(groupId, type), replicaId));
  }
  return types;
}

const container = new Container();
bindKvService(container, KvExecutor);
const types = stateMachineTypes(container, config);
const node = await startNode(config, createJsonLogger(config.nodeId), types);
const signal = await new Promise<string>((resolve) => {
  process.once("SIGTERM", () => resolve("SIGTERM"));
  process.once("SIGINT", () => resolve("SIGINT"));
});
process.stderr.write(`kv-node n${config.nodeId}: ${signal}, stopping\n`);
await node.stop();
process.exit(0);

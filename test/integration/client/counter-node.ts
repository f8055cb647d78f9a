/**
 * A node process for the client tests: `raftkit start`'s flags, with the
 * hand-written counter/kv executable machine registered as "counterkv"
 * (besides the built-in "kv"). Spawned by ProcessCluster (entry option).
 */
import { createPinoLogger } from "../../../framework/cli/pino-logger.js";
import { resolveStartSettings } from "../../../framework/cli/start-settings.js";
import { builtinStateMachineTypes, startNode } from "../../../framework/server/index.js";
import type { StateMachineTypes } from "../../../framework/server/index.js";
import type { StateMachineFactory } from "../../../framework/statemachine/index.js";
import { counterKvType, createCounterKvMachine } from "../../unit/statemachine/counter-kv-state-machine.js";

/** "--state-machine x" → { stateMachine: "x" }: the keys resolveStartSettings reads. */
function flagsOf(argv: readonly string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let at = 0; at < argv.length; at += 2) {
    const flag = argv[at]!;
    const value = argv[at + 1];
    if (!flag.startsWith("--") || value === undefined) throw new Error(`counter-node: bad argument "${flag}"`);
    flags[flag.slice(2).replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase())] = value;
  }
  return flags;
}

const settings = resolveStartSettings(flagsOf(process.argv.slice(2)), {});
const logger = createPinoLogger(settings.logLevel, { node: `n${settings.node.nodeId}` });
const types: StateMachineTypes = new Map<string, StateMachineFactory>([
  ...builtinStateMachineTypes,
  [counterKvType, (groupId) => createCounterKvMachine(groupId).machine],
]);
const node = await startNode(settings.node, logger, types);
const stop = async (): Promise<void> => {
  await node.stop();
  logger.flush();
  process.exit(0);
};
process.once("SIGTERM", () => void stop());
process.once("SIGINT", () => void stop());

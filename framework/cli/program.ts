import { Command, CommanderError, Option } from "commander";
import { isServerError, ServerErrorCode, startNode } from "../server/index.js";
import { createUiHandler } from "../ui/index.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { fetchNodeStatus, formatStatus } from "./cluster-status.js";
import { fetchClusterView, formatClusterView } from "./cluster-table.js";
import { createPinoLogger } from "./pino-logger.js";
import type { RawSettings } from "./start-settings.js";
import { integerSettings, logLevels, readConfigFile, resolveStartSettings } from "./start-settings.js";
import { isUsageError, usageExitCode, UsageError } from "./usage-error.js";

export interface ProgramIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Resolves when the process is asked to stop (SIGTERM/SIGINT). */
  readonly stopRequested: () => Promise<string>;
}

/**
 * The `raftkit` command. Resolves with the process exit code: 0 done,
 * 1 failure at run time, 2 bad usage (flag, config value, argument).
 */
export async function runProgram(argv: readonly string[], io: ProgramIo): Promise<number> {
  const program = buildProgram(io);
  // The code generator costs ~1.4 s of CPU to load: nodes (start) and status
  // calls (cluster) skip it; every other command line, help included, has it.
  if (argv[0] !== "start" && argv[0] !== "cluster") {
    const { registerCodegenCommands } = await import("./generate-command.js");
    registerCodegenCommands(program);
  }
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version end with exit code 0; every parse error with 2.
      return error.exitCode === 0 ? 0 : usageExitCode;
    }
    if (isUsageError(error) || isServerError(error, ServerErrorCode.InvalidConfig) ||
      isServerError(error, ServerErrorCode.DataDirectoryMismatch)) {
      io.stderr(`raftkit: ${error.message}\n`);
      return usageExitCode;
    }
    io.stderr(`raftkit: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

function buildProgram(io: ProgramIo): Command {
  const program = new Command("raftkit")
    .description("raftkit node process and tools")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError(false);
  const start = program
    .command("start")
    .description("run a node: raft transport, gateway, node services, web UI (/ui) on one port")
    .exitOverride()
    .option("--config <file>", "JSON config file; keys are the camelCase flag names (flags win)")
    .option("--id <name>", "this node's name: n<id>, e.g. n1")
    .option("--listen <host:port>", "address to bind (use 127.0.0.1 unless the node must be reachable)")
    .option("--peers <list>", "the other nodes: n2=127.0.0.1:7002,n3=127.0.0.1:7003")
    .option("--data <dir>", "data directory (log, snapshots, groups.json)")
    .option("--groups <ranges>", "groups to start with every node as voter, e.g. 1-100 or 1,5-9")
    .option("--state-machine <name>", "state machine type of --groups (default kv)")
    .option("--join <host:port>", "join a running cluster through any member (comma-separated list allowed)")
    .option("--cluster-manager <on|off>", "run the meta group, agent and controller (default on with peers or --join)")
    .addOption(new Option("--log-level <level>", "log level (default info)").choices([...logLevels]));
  for (const setting of integerSettings) {
    start.option(`${setting.flag} <n>`, `${setting.description} (default ${setting.fallback})`);
  }
  start.action(async (options: Record<string, unknown>) => {
    await runStart(options, io);
  });
  const cluster = program.command("cluster").description("inspect a running cluster").exitOverride();
  cluster
    .command("status")
    .description("print nodes and partitions (ClusterService); a node without the meta group prints its groups")
    .exitOverride()
    .requiredOption("--node <address>", "a node: host:port or base URL, e.g. 127.0.0.1:7001")
    .option("--timeout-ms <n>", "deadline of the call", "5000")
    .action(async (options: { node: string; timeoutMs: string }) => {
      const timeoutMs = Number(options.timeoutMs);
      if (!(Number.isSafeInteger(timeoutMs) && timeoutMs > 0)) {
        throw new UsageError(`--timeout-ms: "${options.timeoutMs}", allowed an integer ≥ 1`);
      }
      io.stdout(await clusterStatus(options.node, timeoutMs));
    });
  return program;
}

/** ClusterService's tables; NodeService's group table where the node serves no ClusterService. */
async function clusterStatus(node: string, timeoutMs: number): Promise<string> {
  const url = /^[A-Za-z0-9.-]+:[0-9]{1,5}$/.test(node) ? `http://${node}` : node;
  const status = await fetchNodeStatus(url, timeoutMs);
  try {
    return formatClusterView(await fetchClusterView(url, timeoutMs));
  } catch (error) {
    const missing = error instanceof ConnectError &&
      (error.code === Code.Unimplemented || error.code === Code.NotFound);
    if (!missing) throw error;
    return formatStatus(status);
  }
}

async function runStart(options: Record<string, unknown>, io: ProgramIo): Promise<void> {
  const { config, ...flags } = options;
  const file: RawSettings = typeof config === "string" ? readConfigFile(config) : {};
  const settings = resolveStartSettings(flags, file);
  const logger = createPinoLogger(settings.logLevel, { node: `n${settings.node.nodeId}` });
  // The management UI at /ui (issue #10): the page, its assets, and a relay to the peers.
  const uiHandler = createUiHandler({
    nodeId: settings.node.nodeId,
    peers: settings.node.peers,
    onError: (message, error) => logger.warn(message, { error: String(error) }),
  });
  const node = await startNode(settings.node, logger, undefined, { fallback: uiHandler });
  const signal = await io.stopRequested();
  logger.info("shutting down", { signal });
  await node.stop();
  logger.flush();
}

import { readFileSync } from "node:fs";
import { defaultRebalanceLimits } from "../cluster/index.js";
import { resolveNodeHostConfig } from "../host/index.js";
import type { NodeConfig } from "../server/index.js";
import { createTransportLimits } from "../transport/index.js";
import { nodeIdOf, parseAddress, parseGroupRanges, parsePeers } from "./node-name.js";
import { UsageError } from "./usage-error.js";

export const logLevels = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof logLevels)[number];

export interface StartSettings {
  readonly node: NodeConfig;
  readonly logLevel: LogLevel;
}

/** One integer setting: its config key, flag, default and allowed range. */
interface IntegerSetting {
  readonly key: string;
  readonly flag: string;
  readonly fallback: number;
  readonly low: number;
  readonly high: number;
  readonly description: string;
}

export const integerSettings = [
  { key: "clusterId", flag: "--cluster-id", fallback: 1, low: 0, high: 2 ** 32, description: "cluster id; peers must agree" },
  { key: "tickMs", flag: "--tick-ms", fallback: 100, low: 1, high: 60_000, description: "milliseconds per raft tick" },
  { key: "electionTicks", flag: "--election-ticks", fallback: 10, low: 2, high: 10_000, description: "election timeout in ticks" },
  { key: "heartbeatTicks", flag: "--heartbeat-ticks", fallback: 1, low: 1, high: 10_000, description: "heartbeat interval in ticks" },
  { key: "snapshotEntries", flag: "--snapshot-entries", fallback: 10_000, low: 0, high: 1e9, description: "snapshot every N applied entries (0: never)" },
  { key: "compactionOverhead", flag: "--compaction-overhead", fallback: 1_000, low: 0, high: 1e9, description: "entries kept behind a snapshot" },
  { key: "quiesceAfterTicks", flag: "--quiesce-after-ticks", fallback: 30, low: 0, high: 1e6, description: "idle ticks before a group quiesces (0: never)" },
  { key: "maxProposalBytes", flag: "--max-proposal-bytes", fallback: 1 << 20, low: 1, high: 1 << 30, description: "largest command payload" },
  { key: "maxCommandsPerEntry", flag: "--max-commands-per-entry", fallback: 256, low: 1, high: 1_000_000, description: "commands per raft entry for groups that pack (1: off)" },
  { key: "maxSavesInFlight", flag: "--max-saves-in-flight", fallback: 4, low: 1, high: 1024, description: "loop saves in flight" },
  { key: "maxFrameBytes", flag: "--max-frame-bytes", fallback: 4 << 20, low: 1024, high: 1 << 30, description: "largest transport frame" },
  { key: "requestTimeoutMs", flag: "--request-timeout-ms", fallback: 5_000, low: 1, high: 3_600_000, description: "default request deadline" },
  { key: "shutdownGraceMs", flag: "--shutdown-grace-ms", fallback: 5_000, low: 0, high: 3_600_000, description: "wait for requests in flight on shutdown" },
  { key: "metaVoters", flag: "--meta-voters", fallback: 3, low: 1, high: 5, description: "meta group voters: the lowest ids of the boot cluster (1, 3 or 5)" },
  { key: "heartbeatMs", flag: "--heartbeat-ms", fallback: 500, low: 1, high: 3_600_000, description: "node agent heartbeat interval to the meta leader" },
  { key: "suspectAfterMs", flag: "--suspect-after-ms", fallback: 3_000, low: 1, high: 3_600_000, description: "silence before a node is suspect" },
  { key: "deadAfterMs", flag: "--dead-after-ms", fallback: 10_000, low: 1, high: 3_600_000, description: "silence before a node is dead (its replicas are replaced)" },
  { key: "controllerRoundMs", flag: "--controller-round-ms", fallback: 500, low: 1, high: 3_600_000, description: "pause between rebalancing rounds on the meta leader" },
  { key: "maxConcurrentMoves", flag: "--max-concurrent-moves", fallback: 4, low: 1, high: 10_000, description: "replica moves under way at once, cluster-wide" },
  { key: "maxNewMovesPerRound", flag: "--max-new-moves-per-round", fallback: 2, low: 1, high: 10_000, description: "replica moves started per controller round" },
  { key: "maxBalanceMoves", flag: "--max-balance-moves", fallback: 1, low: 1, high: 10_000, description: "load-evening moves under way at once (after repairs)" },
  { key: "leaderSettleMs", flag: "--leader-settle-ms", fallback: 10_000, low: 0, high: 3_600_000, description: "quiet time (no node state change, no replica move) before the controller spreads leaders" },
  { key: "rejoinAfterMs", flag: "--rejoin-after-ms", fallback: 30_000, low: 0, high: 3_600_000, description: "a node that left a partition gets no fresh replica of it for this long" },
  { key: "learnerStallMs", flag: "--learner-stall-ms", fallback: 60_000, low: 1, high: 3_600_000, description: "a learner whose lag falls no further for this long is replaced" },
  { key: "leaderSlack", flag: "--leader-slack", fallback: 0, low: 0, high: 1_000_000, description: "leaderships a node may hold above its fair share before the controller moves one away" },
] as const satisfies readonly IntegerSetting[];

type IntegerKey = (typeof integerSettings)[number]["key"];
const stringKeys = ["id", "listen", "peers", "data", "groups", "stateMachine", "logLevel", "join", "clusterManager"] as const;
type StringKey = (typeof stringKeys)[number];
const flagOf: Record<StringKey, string> = {
  id: "--id", listen: "--listen", peers: "--peers", data: "--data", groups: "--groups",
  stateMachine: "--state-machine", logLevel: "--log-level", join: "--join", clusterManager: "--cluster-manager",
};

/** Raw values by config key, from flags (strings) or a config file (JSON values). */
export type RawSettings = Readonly<Record<string, unknown>>;

/** Reads `--config file.json`: an object whose keys are the camelCase names of the flags. */
export function readConfigFile(path: string): RawSettings {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UsageError(`--config ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`--config ${path}: a JSON object is required`);
  }
  const known = new Set<string>([...stringKeys, ...integerSettings.map((setting) => setting.key)]);
  for (const key of Object.keys(parsed)) {
    if (!known.has(key)) throw new UsageError(`config "${key}" in ${path}: unknown key, allowed: ${[...known].join(", ")}`);
  }
  return parsed as RawSettings;
}

/** Flags win over the config file; each bad value is reported with the flag or key that carried it. */
export function resolveStartSettings(flags: RawSettings, file: RawSettings): StartSettings {
  const source = (key: string, flag: string): { value: unknown; where: string } =>
    flags[key] !== undefined ? { value: flags[key], where: flag } : { value: file[key], where: `config "${key}"` };
  const text = (key: StringKey, required: boolean): { value: string | undefined; where: string } => {
    const { value, where } = source(key, flagOf[key]);
    if (value === undefined) {
      if (required) throw new UsageError(`${flagOf[key]} is required (or "${key}" in --config)`);
      return { value: undefined, where };
    }
    if (typeof value !== "string" || value.trim() === "") throw new UsageError(`${where}: ${JSON.stringify(value)}, allowed a non-empty string`);
    return { value, where };
  };
  const integer = (key: IntegerKey): number => {
    const setting = integerSettings.find((candidate) => candidate.key === key)!;
    const { value, where } = source(key, setting.flag);
    if (value === undefined) return setting.fallback;
    const number = typeof value === "string" && /^-?[0-9]+$/.test(value.trim()) ? Number(value) : value;
    if (typeof number !== "number" || !Number.isSafeInteger(number) || number < setting.low || number > setting.high) {
      throw new UsageError(`${where}: ${JSON.stringify(value)}, allowed an integer in ${setting.low} … ${setting.high}`);
    }
    return number;
  };
  const id = text("id", true);
  const nodeId = nodeIdOf(id.value!, id.where);
  const listenText = text("listen", true);
  const listen = parseAddress(listenText.value!, listenText.where, true);
  const peers = resolvePeers(source("peers", "--peers"), nodeId);
  const groupsText = resolveGroups(source("groups", "--groups"));
  const logLevel = text("logLevel", false).value ?? "info";
  if (!isLogLevel(logLevel)) throw new UsageError(`--log-level: "${logLevel}", allowed ${logLevels.join(", ")}`);
  const integers = Object.fromEntries(integerSettings.map((setting) => [setting.key, integer(setting.key)])) as Record<IntegerKey, number>;
  const node: NodeConfig = {
    nodeId,
    listenHost: listen.host,
    listenPort: listen.port,
    peers,
    dataDirectory: text("data", true).value!,
    clusterId: integers.clusterId,
    groups: groupsText,
    stateMachine: text("stateMachine", false).value ?? "kv",
    host: {
      tickIntervalMs: integers.tickMs,
      electionTicks: integers.electionTicks,
      heartbeatTicks: integers.heartbeatTicks,
      snapshotEntries: integers.snapshotEntries,
      compactionOverhead: integers.compactionOverhead,
      quiesceAfterTicks: integers.quiesceAfterTicks,
      maxProposalBytes: integers.maxProposalBytes,
      maxCommandsPerEntry: integers.maxCommandsPerEntry,
      maxSavesInFlight: integers.maxSavesInFlight,
      requestTimeoutMs: integers.requestTimeoutMs,
    },
    transport: { maxFrameBytes: integers.maxFrameBytes },
    shutdownGraceMs: integers.shutdownGraceMs,
    cluster: resolveClusterFlags(integers, text("join", false), text("clusterManager", false)),
  };
  checkCombinations(node);
  return { node, logLevel };
}

/** The cluster manager's flags (issue #9); the node checks the combinations and names the setting. */
function resolveClusterFlags(
  integers: Record<IntegerKey, number>,
  join: { value: string | undefined; where: string },
  switchText: { value: string | undefined; where: string },
): NonNullable<NodeConfig["cluster"]> {
  const joinAddresses = join.value === undefined ? [] : join.value.split(",").map((part) => part.trim());
  for (const address of joinAddresses) parseAddress(address, join.where, false);
  const onOff = switchText.value;
  if (onOff !== undefined && onOff !== "on" && onOff !== "off") {
    throw new UsageError(`${switchText.where}: "${onOff}", allowed on, off`);
  }
  if (![1, 3, 5].includes(integers.metaVoters)) {
    throw new UsageError(`--meta-voters: ${integers.metaVoters}, allowed 1, 3, 5`);
  }
  if (!(integers.heartbeatMs < integers.suspectAfterMs && integers.suspectAfterMs < integers.deadAfterMs)) {
    throw new UsageError(
      `--heartbeat-ms ${integers.heartbeatMs} < --suspect-after-ms ${integers.suspectAfterMs} ` +
        `< --dead-after-ms ${integers.deadAfterMs} is required`,
    );
  }
  return {
    ...(onOff === undefined ? {} : { enabled: onOff === "on" }),
    join: joinAddresses,
    metaVoters: integers.metaVoters,
    heartbeatIntervalMs: integers.heartbeatMs,
    suspectAfterMs: integers.suspectAfterMs,
    deadAfterMs: integers.deadAfterMs,
    roundIntervalMs: integers.controllerRoundMs,
    leaderSettleMs: integers.leaderSettleMs,
    rejoinAfterMs: integers.rejoinAfterMs,
    learnerStallMs: integers.learnerStallMs,
    limits: {
      ...defaultRebalanceLimits,
      maxConcurrentMoves: integers.maxConcurrentMoves,
      maxNewMovesPerRound: integers.maxNewMovesPerRound,
      maxBalanceMoves: integers.maxBalanceMoves,
      leaderSlack: integers.leaderSlack,
    },
  };
}

function isLogLevel(value: string): value is LogLevel {
  return (logLevels as readonly string[]).includes(value);
}

function resolvePeers({ value, where }: { value: unknown; where: string }, nodeId: number): Map<number, string> {
  let peers: Map<number, string>;
  if (value === undefined) peers = new Map();
  else if (typeof value === "string") peers = parsePeers(value, where);
  else if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const entries = Object.entries(value).map(([name, address]) => `${name}=${String(address)}`);
    peers = parsePeers(entries.join(","), where);
  } else {
    throw new UsageError(`${where}: ${JSON.stringify(value)}, allowed "n2=host:port,…" or {"n2": "host:port"}`);
  }
  if (peers.has(nodeId)) throw new UsageError(`${where}: lists this node n${nodeId} itself`);
  return peers;
}

function resolveGroups({ value, where }: { value: unknown; where: string }): number[] {
  if (value === undefined) return [];
  if (typeof value === "string") return parseGroupRanges(value, where);
  if (Array.isArray(value) && value.every((id) => Number.isSafeInteger(id) && id > 0)) {
    return parseGroupRanges(value.join(","), where);
  }
  throw new UsageError(`${where}: ${JSON.stringify(value)}, allowed "1-100", "1,2,5-9" or [1, 2, 3]`);
}

/** Settings valid alone but not together; the host and transport name the key, we name the flag. */
function checkCombinations(node: NodeConfig): void {
  try {
    resolveNodeHostConfig({ ...node.host, nodeId: node.nodeId });
    createTransportLimits(node.transport);
  } catch (error) {
    throw new UsageError(`--election-ticks/--heartbeat-ticks/--max-frame-bytes: ${error instanceof Error ? error.message : String(error)}`);
  }
  const frame = node.transport.maxFrameBytes ?? 0;
  const proposal = node.host.maxProposalBytes ?? 0;
  if (proposal + 64 * 1024 > frame) {
    throw new UsageError(
      `--max-proposal-bytes: ${proposal}, allowed ≤ --max-frame-bytes − 65536 = ${frame - 64 * 1024} (a command must fit in one frame)`,
    );
  }
}

import { UsageError } from "./usage-error.js";

/** Node names are "n" + the numeric replica id: n1 → 1. Anything else is refused. */
export function nodeIdOf(name: string, where: string): number {
  const match = /^n([1-9][0-9]{0,14})$/.exec(name);
  if (match === null) {
    throw new UsageError(`${where}: node name "${name}", allowed n<id> with id ≥ 1 (n1, n2, …)`);
  }
  return Number(match[1]);
}

/** "host:port" with a port in 0 … 65535 (0 only where `allowZero`). */
export function parseAddress(text: string, where: string, allowZero = false): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(text);
  const port = match === null ? Number.NaN : Number(match[2]);
  if (match === null || port > 65535 || (port === 0 && !allowZero)) {
    throw new UsageError(
      `${where}: address "${text}", allowed host:port with port ${allowZero ? 0 : 1} … 65535 (e.g. 127.0.0.1:7001)`,
    );
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ""), port };
}

/** "n2=127.0.0.1:7002,n3=127.0.0.1:7003" → id → address. */
export function parsePeers(text: string, where: string): Map<number, string> {
  const peers = new Map<number, string>();
  for (const item of text.split(",").map((part) => part.trim()).filter((part) => part !== "")) {
    const equals = item.indexOf("=");
    if (equals < 0) throw new UsageError(`${where}: "${item}", allowed name=host:port (e.g. n2=127.0.0.1:7002)`);
    const id = nodeIdOf(item.slice(0, equals), where);
    const address = item.slice(equals + 1);
    parseAddress(address, where);
    if (peers.has(id)) throw new UsageError(`${where}: node n${id} listed twice`);
    peers.set(id, address);
  }
  return peers;
}

/** "1-100" or "1,2,5-9" → sorted distinct group ids. */
export function parseGroupRanges(text: string, where: string, maxGroups = 1_000_000): number[] {
  const groups = new Set<number>();
  for (const part of text.split(",").map((item) => item.trim()).filter((item) => item !== "")) {
    const match = /^([0-9]{1,15})(?:-([0-9]{1,15}))?$/.exec(part);
    const low = match === null ? 0 : Number(match[1]);
    const high = match === null ? 0 : Number(match[2] ?? match[1]);
    if (match === null || low < 1 || high < low) {
      throw new UsageError(`${where}: "${part}", allowed a group id ≥ 1 or a range low-high (e.g. 1-100)`);
    }
    if (groups.size + (high - low + 1) > maxGroups) {
      throw new UsageError(`${where}: more than ${maxGroups} groups`);
    }
    for (let id = low; id <= high; id++) groups.add(id);
  }
  return [...groups].sort((a, b) => a - b);
}

/**
 * Checks of the controller's leader settling on a cluster simulation's
 * trace (issue #9): every leader-spreading transfer comes at least
 * `settleMs` after the last change the controller could have seen before
 * it — its own start, a node registered or changing state (detector or
 * operator), a membership step it took — and no transfer is asked again
 * for the same group from the same leader within `transferTimeoutMs`.
 * Times of the controller's own steps are their rounds' times (roundAtMs
 * in its log lines); other changes count from when they were recorded,
 * which is no later than when the controller saw them.
 */

export interface SettleEvent {
  readonly atMs: number;
  readonly what: string;
}

export interface SpreadTransfer {
  readonly atMs: number;
  readonly node: number;
  readonly partitionId: number;
  readonly from: number;
  readonly to: number;
  readonly spreading: boolean;
}

export interface SettleReport {
  readonly violations: readonly string[];
  /** Leader-spreading transfers seen (a check over none would prove nothing). */
  readonly spreading: number;
  readonly transfers: number;
}

const linePattern = /^(\d+) info (\d+) (.+?)( \{.*\})?$/;

function fieldsOf(json: string | undefined): Record<string, unknown> {
  if (json === undefined) return {};
  const parsed: unknown = JSON.parse(json.trim());
  if (typeof parsed !== "object" || parsed === null) throw new Error(`not an object: ${json}`);
  return Object.fromEntries(Object.entries(parsed));
}

function numberOf(fields: Record<string, unknown>, key: string, line: string): number {
  const value = fields[key];
  if (typeof value !== "number") throw new Error(`trace line without ${key}: ${line}`);
  return value;
}

/** Changes (by node for the controller's own steps, "any" for registry changes) and transfers. */
export function parseSettleTrace(lines: readonly string[]) {
  const changes: { node: number | "any"; event: SettleEvent }[] = [];
  const transfers: SpreadTransfer[] = [];
  for (const line of lines) {
    const operator = /^(\d+) node (\d+) (draining|removed) in the meta table/.exec(line);
    if (operator !== null) {
      changes.push({ node: "any", event: { atMs: Number(operator[1]), what: line } });
      continue;
    }
    const match = linePattern.exec(line);
    if (match === null) continue;
    const [, time, nodeText, message] = match;
    const node = Number(nodeText);
    const fields = fieldsOf(match[4]);
    if (message === "meta leader: controller started") {
      changes.push({ node, event: { atMs: Number(time), what: line } });
    } else if (message === "node registered") {
      changes.push({ node: "any", event: { atMs: Number(time), what: line } });
    } else if (message === "node state") {
      changes.push({ node: "any", event: { atMs: numberOf(fields, "roundAtMs", line), what: line } });
    } else if (message === "rebalance step") {
      const atMs = numberOf(fields, "roundAtMs", line);
      if (fields["kind"] !== "transfer_leadership") {
        changes.push({ node, event: { atMs, what: line } });
        continue;
      }
      const reason = String(fields["reason"]);
      transfers.push({
        atMs, node, partitionId: numberOf(fields, "partitionId", line),
        from: numberOf(fields, "from", line), to: numberOf(fields, "to", line),
        spreading: reason.startsWith("spreads leaders"),
      });
    }
  }
  return { changes, transfers };
}

export function checkLeaderSettling(
  lines: readonly string[],
  settleMs: number,
  transferTimeoutMs: number,
): SettleReport {
  const { changes, transfers } = parseSettleTrace(lines);
  const violations: string[] = [];
  for (const transfer of transfers.filter((candidate) => candidate.spreading)) {
    const seen = changes.filter(({ node, event }) =>
      (node === "any" || node === transfer.node) && event.atMs <= transfer.atMs);
    const last = seen.reduce<SettleEvent | undefined>(
      (latest, { event }) => (latest === undefined || event.atMs > latest.atMs ? event : latest),
      undefined,
    );
    if (last !== undefined && transfer.atMs - last.atMs < settleMs) {
      violations.push(`transfer of p${transfer.partitionId} ${transfer.from}→${transfer.to} at ` +
        `${transfer.atMs} ms, ${transfer.atMs - last.atMs} ms after: ${last.what}`);
    }
  }
  for (const [index, transfer] of transfers.entries()) {
    const again = transfers.slice(index + 1).find((later) =>
      later.node === transfer.node && later.partitionId === transfer.partitionId &&
      later.from === transfer.from && later.atMs - transfer.atMs < transferTimeoutMs);
    if (again !== undefined) {
      violations.push(`transfer of p${transfer.partitionId} from ${transfer.from} asked at ` +
        `${transfer.atMs} and again at ${again.atMs} ms (under way until ${transferTimeoutMs} ms)`);
    }
  }
  const spreading = transfers.filter((transfer) => transfer.spreading).length;
  return { violations, spreading, transfers: transfers.length };
}

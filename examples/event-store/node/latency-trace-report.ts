import { constants } from "node:perf_hooks";
import type { TraceRecord } from "./latency-trace.js";

/** One insert as its client saw it, wall-clock ms (the trace's clock). */
export interface ClientInsert {
  /** The insert's first event's timestamp: the key of the leader's "ins" record. */
  readonly key: number;
  readonly dueMs: number;
  readonly sentMs: number;
  readonly ackMs: number;
}

/** The steps of one ack, ms (NaN where a record is missing). */
export interface AckSteps {
  readonly latencyMs: number;
  /** Sent after it was due (the client's own delay). */
  readonly late: number;
  /** Sent -> the leader's handler runs (client, HTTP/2, the leader's wake-up). */
  readonly toLeader: number;
  /** Handler -> in the buffer (a turn, the stream lookup, decode). */
  readonly admit: number;
  /** Buffered -> proposed (waits for the proposal in flight). */
  readonly buffer: number;
  /** Proposed -> the leader's apply starts: leader save, MsgApp, follower saves, MsgAppResp, commit. */
  readonly replicate: number;
  /**
   * Inside `replicate`, from the raft log's writes (the first entry-sized
   * write of a .wal file starting after the proposal, on each node):
   * proposed -> the leader's save done, proposed -> the first follower's
   * save starts (the MsgApp hop) and ends, and the quorum's save -> apply.
   */
  readonly leaderSave: number;
  readonly toFollower: number;
  readonly followerSave: number;
  readonly commit: number;
  readonly apply: number;
  /** Apply done -> the handler's answer. */
  readonly answer: number;
  /** The handler's answer -> the client's ack (HTTP/2 frames out, the client's wake-up). */
  readonly toClient: number;
}

export const STEP_NAMES = ["late", "toLeader", "admit", "buffer", "replicate", "apply", "answer", "toClient"] as const;

/** What else happened in a process while an ack was outstanding. */
export interface Concurrent {
  readonly process: string;
  /** Sum and longest of its GC pauses inside the ack's interval (major = mark-compact). */
  readonly gcMs: number;
  readonly majorGcMs: number;
  readonly longestGcMs: number;
  /** Its longest event-loop gap overlapping the ack, and the process's CPU in that gap. */
  readonly lagMs: number;
  readonly lagCpuMs: number;
  /** Its longest file write or sync overlapping the ack ("datasync 12.3"), and how many overlapped. */
  readonly longestIo: string;
  readonly longestIoMs: number;
  readonly ioCount: number;
}

export interface TracedAck {
  readonly insert: ClientInsert;
  readonly steps: AckSteps;
  readonly leader: string | undefined;
  readonly concurrent: readonly Concurrent[];
  /** The largest step, and the process event that best explains it. */
  readonly cause: string;
  /** The cause's kind and process role, e.g. "GC (follower)", "disk (leader)", "off-CPU (client)", "none". */
  readonly category: string;
}

const overlap = (start: number, duration: number, from: number, to: number): number =>
  Math.max(0, Math.min(start + duration, to) - Math.max(start, from));

/**
 * The steps of each given ack, from the client's view and the processes'
 * trace records (by process name: "n1", "client", ...), for one raft group.
 */
export function traceAcks(inserts: readonly ClientInsert[], traces: ReadonlyMap<string, readonly TraceRecord[]>,
  groupId: number): TracedAck[] {
  const inserted = new Map<number, { process: string; record: readonly ["ins", number, number, number, number, number] }>();
  for (const [process, records] of traces) {
    for (const record of records) if (record[0] === "ins") inserted.set(record[1], { process, record });
  }
  return inserts.map((insert) => {
    const found = inserted.get(insert.key);
    const leaderRecords = found === undefined ? [] : traces.get(found.process) ?? [];
    const [, , , received, buffered, answered] = found?.record ?? ["ins", NaN, NaN, NaN, NaN, NaN];
    let proposed = NaN;
    let applyStart = NaN;
    let applyEnd = NaN;
    for (const record of leaderRecords) {
      if (record[0] === "prep" && record[1] === groupId && record[2] >= buffered && !(record[2] >= proposed)) proposed = record[2];
    }
    for (const record of leaderRecords) {
      if (record[0] === "apply" && record[1] === groupId && record[5] >= proposed && !(record[5] >= applyStart)) {
        applyStart = record[5];
        applyEnd = record[6];
      }
    }
    // The raft log's saves of this entry: the first entry-sized .wal write after the proposal, per node.
    let leaderSaveEnd = NaN;
    let followerStart = NaN;
    let followerEnd = NaN;
    for (const [process, records] of traces) {
      if (process === "client") continue;
      let save: readonly ["io", string, number, number, number, string] | undefined;
      for (const record of records) {
        if (record[0] === "io" && record[1].startsWith("write") && record[4] > 1000 && record[5].endsWith(".wal") &&
          record[2] >= proposed && (save === undefined || record[2] < save[2])) save = record;
      }
      if (save === undefined) continue;
      if (process === found?.process) leaderSaveEnd = save[2] + save[3];
      else if (!(save[2] + save[3] >= followerEnd)) {
        followerStart = save[2];
        followerEnd = save[2] + save[3];
      }
    }
    const steps: AckSteps = {
      latencyMs: insert.ackMs - insert.dueMs,
      late: insert.sentMs - insert.dueMs,
      toLeader: received - insert.sentMs,
      admit: buffered - received,
      buffer: proposed - buffered,
      replicate: applyStart - proposed,
      leaderSave: leaderSaveEnd - proposed,
      toFollower: followerStart - proposed,
      followerSave: followerEnd - followerStart,
      commit: applyStart - Math.max(leaderSaveEnd, followerEnd),
      apply: applyEnd - applyStart,
      answer: answered - applyEnd,
      toClient: insert.ackMs - answered,
    };
    const concurrent = [...traces].map(([process, records]) => concurrentIn(process, records, insert.dueMs, insert.ackMs));
    const cause = causeOf(steps, concurrent, found?.process);
    return { insert, steps, leader: found?.process, concurrent, cause: cause.text, category: cause.category };
  });
}

function concurrentIn(process: string, records: readonly TraceRecord[], from: number, to: number): Concurrent {
  let gcMs = 0;
  let majorGcMs = 0;
  let longestGcMs = 0;
  let lagMs = 0;
  let lagCpuMs = 0;
  let longestIo = "";
  let longestIoMs = 0;
  let ioCount = 0;
  for (const record of records) {
    if (record[0] === "gc") {
      const inside = overlap(record[1], record[2], from, to);
      if (inside <= 0) continue;
      gcMs += inside;
      if (record[3] === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcMs += inside;
      longestGcMs = Math.max(longestGcMs, record[2]);
    } else if (record[0] === "lag" && overlap(record[1], record[2], from, to) > 0 && record[2] > lagMs) {
      lagMs = record[2];
      lagCpuMs = record[3];
    } else if (record[0] === "io" && overlap(record[2], record[3], from, to) > 0) {
      ioCount += 1;
      if (record[3] > longestIoMs) {
        longestIoMs = record[3];
        longestIo = `${record[1]} ${record[5]} ${record[3].toFixed(1)} ms (${record[4]} B)`;
      }
    }
  }
  return { process, gcMs, majorGcMs, longestGcMs, lagMs, lagCpuMs, longestIo, longestIoMs, ioCount };
}

/** A process's part in an ack: the leader, a follower or the client. */
const roleOf = (process: string, leader: string | undefined): string =>
  process === "client" ? "client" : process === leader ? "leader" : "follower";

/**
 * The largest step, with the process event most likely behind it: a file
 * write or sync longer than any loop gap (the disk, or the thread pool's
 * queue), a GC pause (a gap with a GC inside), a long task (a gap spent on
 * the CPU) or a wait for a core (a gap off the CPU). `category` counts it.
 */
function causeOf(steps: AckSteps, concurrent: readonly Concurrent[], leader: string | undefined): { text: string; category: string } {
  let step = "untraced";
  let longest = 0;
  for (const name of STEP_NAMES) {
    if (steps[name] > longest) {
      longest = steps[name];
      step = name;
    }
  }
  if (step === "replicate") {
    // Which part of it: the leader's save, the hop to the quorum's follower, its save, or the way back.
    const inner = { "leader save": steps.leaderSave, "to follower": steps.toFollower,
      "follower save": steps.followerSave, "commit": steps.commit };
    const [part] = Object.entries(inner).sort((a, b) => (b[1] || 0) - (a[1] || 0))[0]!;
    step = `replicate/${part}`;
  }
  const worst = [...concurrent].sort((a, b) => Math.max(b.lagMs, b.gcMs) - Math.max(a.lagMs, a.gcMs))[0];
  const slowestIo = [...concurrent].sort((a, b) => b.longestIoMs - a.longestIoMs)[0];
  if (slowestIo !== undefined && slowestIo.longestIoMs >= 2 &&
    (worst === undefined || slowestIo.longestIoMs > Math.max(worst.lagMs, worst.gcMs))) {
    const role = roleOf(slowestIo.process, leader);
    return { text: `${step}: ${slowestIo.process} (${role}) ${slowestIo.longestIo}`, category: `disk (${role})` };
  }
  if (worst === undefined || Math.max(worst.lagMs, worst.gcMs) < 2) return { text: `${step}: no gap, GC or I/O >= 2 ms`, category: "none" };
  const role = roleOf(worst.process, leader);
  const [what, kind] = worst.majorGcMs >= 2 ? [`mark-compact ${worst.majorGcMs.toFixed(1)} ms`, "GC"]
    : worst.gcMs >= Math.max(2, worst.lagMs / 2) ? [`GC ${worst.gcMs.toFixed(1)} ms`, "GC"]
    : worst.lagCpuMs >= worst.lagMs / 2 ? [`long task ${worst.lagMs.toFixed(1)} ms (cpu ${worst.lagCpuMs.toFixed(1)})`, "long task"]
    : [`off-CPU gap ${worst.lagMs.toFixed(1)} ms (cpu ${worst.lagCpuMs.toFixed(1)})`, "off-CPU"];
  return { text: `${step}: ${worst.process} (${role}) ${what}`, category: `${kind} (${role})` };
}

/** Lines for the bench's output: each traced ack, then the acks counted by their largest step. */
export function traceReportLines(acks: readonly TracedAck[]): string[] {
  const lines = acks.map((ack) => {
    const parts = `[leader save ${ack.steps.leaderSave.toFixed(1)}, to follower ${ack.steps.toFollower.toFixed(1)}, ` +
      `follower save ${ack.steps.followerSave.toFixed(1)}, commit ${ack.steps.commit.toFixed(1)}]`;
    const steps = STEP_NAMES.map((name) => `${name} ${ack.steps[name].toFixed(1)}${name === "replicate" ? ` ${parts}` : ""}`).join(", ");
    const others = ack.concurrent.filter((entry) => entry.gcMs >= 1 || entry.lagMs >= 3 || entry.longestIoMs >= 2)
      .map((entry) => `${entry.process}${entry.process === ack.leader ? "(L)" : ""} gc ${entry.gcMs.toFixed(1)}` +
        `${entry.majorGcMs > 0 ? ` (major ${entry.majorGcMs.toFixed(1)})` : ""} lag ${entry.lagMs.toFixed(1)}/cpu ${entry.lagCpuMs.toFixed(1)}` +
        `${entry.longestIoMs >= 2 ? ` io ${entry.longestIo} of ${entry.ioCount}` : ""}`);
    return `    ${ack.steps.latencyMs.toFixed(1)} ms: ${steps} | ${others.join("; ") || "nothing"} => ${ack.cause}`;
  });
  const count = (keyOf: (ack: TracedAck) => string): string => {
    const counts = new Map<string, number>();
    for (const ack of acks) counts.set(keyOf(ack), (counts.get(keyOf(ack)) ?? 0) + 1);
    return [...counts].sort((a, b) => b[1] - a[1]).map(([key, times]) => `${key} ${times}`).join(", ");
  };
  lines.push(`    largest step of these acks: ${count((ack) => ack.cause.split(":")[0]!)}`);
  lines.push(`    by cause: ${count((ack) => ack.category)}`);
  return lines;
}

/** A trace file's records (JSON lines; a torn last line is skipped). */
export function parseTrace(text: string): TraceRecord[] {
  const records: TraceRecord[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    try {
      records.push(JSON.parse(line) as TraceRecord);
    } catch {
      // The process may be writing its last line.
    }
  }
  return records;
}

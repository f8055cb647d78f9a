/**
 * Scripted raft scenarios (STYLE rule 11, after etcd's datadriven tests): a
 * file is a list of blocks
 *
 *     command args...
 *     ----
 *     expected output
 *
 * separated by blank lines; `#` starts a comment line. Run with
 * RAFTKIT_REWRITE=1 to write the actual output back as the expectation.
 */
import {
  ConfChangeTransition,
  ConfChangeType,
  EntryType,
  MessageType,
} from "../../../framework/raft/index.js";
import type { ConfChangeSingle, Message, NodeId } from "../../../framework/raft/index.js";
import { bytes, Cluster } from "./cluster-harness.js";

export interface ScenarioBlock {
  /** Comment lines just above the command, kept on rewrite. */
  readonly comments: readonly string[];
  readonly command: string;
  readonly expected: string;
  readonly line: number;
}

export function parseScenario(text: string): ScenarioBlock[] {
  const blocks: ScenarioBlock[] = [];
  const lines = text.split("\n");
  let i = 0;
  let comments: string[] = [];
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === "") {
      i++;
      continue;
    }
    if (line.startsWith("#")) {
      comments.push(line);
      i++;
      continue;
    }
    const start = i + 1;
    const command = line.trim();
    i++;
    if (lines[i] !== "----") throw new Error(`line ${start}: command "${command}" must be followed by ----`);
    i++;
    const expected: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== "") expected.push(lines[i++]!);
    blocks.push({ comments, command, expected: expected.join("\n"), line: start });
    comments = [];
  }
  return blocks;
}

export function formatScenario(blocks: readonly ScenarioBlock[]): string {
  const body = blocks.map((block) =>
    [...block.comments, block.command, "----", block.expected === "" ? "ok" : block.expected].join("\n"),
  );
  return `${body.join("\n\n")}\n`;
}

const typeNames: Record<number, string> = {
  [MessageType.Append]: "Append",
  [MessageType.AppendResponse]: "AppendResponse",
  [MessageType.RequestVote]: "RequestVote",
  [MessageType.RequestVoteResponse]: "VoteResponse",
  [MessageType.RequestPreVote]: "RequestPreVote",
  [MessageType.RequestPreVoteResponse]: "PreVoteResponse",
  [MessageType.Snapshot]: "Snapshot",
  [MessageType.Heartbeat]: "Heartbeat",
  [MessageType.HeartbeatResponse]: "HeartbeatResponse",
  [MessageType.TimeoutNow]: "TimeoutNow",
  [MessageType.ReadIndex]: "ReadIndex",
  [MessageType.ReadIndexResponse]: "ReadIndexResponse",
};

function describeMessage(message: Message, dropped: boolean): string {
  const parts = [`${message.from}->${message.to} ${typeNames[message.type]} term=${message.term}`];
  switch (message.type) {
    case MessageType.Append:
      parts.push(`prev=${message.index}/${message.logTerm} commit=${message.commit}`);
      parts.push(`entries=[${message.entries.map((e) => `${e.index}/${e.term}`).join(" ")}]`);
      break;
    case MessageType.AppendResponse:
      parts.push(message.reject ? `reject index=${message.index} hint=${message.rejectHint}/${message.logTerm}` : `index=${message.index}`);
      break;
    case MessageType.RequestVote:
    case MessageType.RequestPreVote:
      parts.push(`last=${message.index}/${message.logTerm}`);
      break;
    case MessageType.RequestVoteResponse:
    case MessageType.RequestPreVoteResponse:
      parts.push(message.reject ? "rejected" : "granted");
      break;
    case MessageType.Heartbeat:
      parts.push(`commit=${message.commit}`);
      break;
    case MessageType.Snapshot:
      parts.push(`index=${message.snapshot?.metadata.index}`);
      break;
    default:
      break;
  }
  return (dropped ? "DROPPED " : "") + parts.join(" ");
}

const numbers = (list: string): NodeId[] => list.split(",").filter((x) => x !== "").map(Number);

/** Runs one scenario file's blocks; returns the actual output of each. */
export function runScenario(blocks: readonly ScenarioBlock[]): string[] {
  let cluster: Cluster | undefined;
  const partitions: Set<NodeId>[] = [];
  const dropRules: ((message: Message) => boolean)[] = [];
  const dropped = (message: Message): boolean =>
    (partitions.length > 0 &&
      partitions.findIndex((side) => side.has(message.from)) !== partitions.findIndex((side) => side.has(message.to))) ||
    dropRules.some((rule) => rule(message));
  const need = (): Cluster => {
    if (cluster === undefined) throw new Error("no cluster: start with `cluster voters=...`");
    return cluster;
  };
  return blocks.map((block) => {
    const [name, ...args] = block.command.split(/\s+/);
    const flags = new Map<string, string>();
    for (const arg of args) {
      const [key = "", value = ""] = arg.split("=");
      flags.set(key, value);
    }
    const out: string[] = [];
    const deliverAndLog = (rounds?: number): void => {
      const current = need();
      const before = current.sent.length;
      if (rounds === undefined) current.stabilize();
      else for (let r = 0; r < rounds; r++) current.round();
      for (const message of current.sent.slice(before)) out.push(describeMessage(message, dropped(message)));
    };
    try {
      switch (name) {
        case "cluster": {
          cluster = new Cluster({
            voters: numbers(flags.get("voters") ?? ""),
            learners: numbers(flags.get("learners") ?? ""),
            seed: Number(flags.get("seed") ?? 1),
            config: {
              preVote: flags.has("pre-vote"),
              checkQuorum: flags.has("check-quorum"),
              ...(flags.has("max-message-bytes") ? { maxSizePerMessage: Number(flags.get("max-message-bytes")) } : {}),
            },
          });
          cluster.drop = dropped;
          break;
        }
        case "campaign":
          // campaign N [rounds=K]: without rounds, until the cluster is quiet.
          need().get(Number(args[0])).node.campaign();
          deliverAndLog(flags.has("rounds") ? Number(flags.get("rounds")) : undefined);
          break;
        case "round":
          deliverAndLog(Number(args[0] ?? 1));
          break;
        case "propose": {
          const position = need().get(Number(args[0])).node.propose(bytes(args[1] ?? ""));
          out.push(`index=${position.index} term=${position.term}`);
          break;
        }
        case "stabilize":
          deliverAndLog();
          break;
        case "tick": {
          const times = Number(args[1] ?? 1);
          for (let t = 0; t < times; t++) need().get(Number(args[0])).node.tick();
          deliverAndLog();
          break;
        }
        case "partition": {
          partitions.length = 0;
          for (const side of block.command.slice("partition".length).split("|")) {
            partitions.push(new Set(side.trim().split(/\s+/).map(Number)));
          }
          break;
        }
        case "heal":
          partitions.length = 0;
          dropRules.length = 0;
          break;
        case "drop": {
          // drop [from=N] [to=N,M] [type=Append] [entry-term=T]: until `heal`.
          const from = flags.get("from");
          const to = flags.has("to") ? numbers(flags.get("to")!) : undefined;
          const type = flags.get("type");
          const entryTerm = flags.get("entry-term");
          dropRules.push(
            (message) =>
              (from === undefined || message.from === Number(from)) &&
              (to === undefined || to.includes(message.to)) &&
              (type === undefined || typeNames[message.type] === type) &&
              (entryTerm === undefined || message.entries.some((entry) => entry.term === Number(entryTerm))),
          );
          break;
        }
        case "transfer":
          need().get(Number(args[0])).node.transferLeadership(Number(args[1]));
          deliverAndLog();
          break;
        case "read": {
          const target = need().get(Number(args[0]));
          const before = target.readStates.length;
          target.node.readIndex(bytes(args[1] ?? ""));
          deliverAndLog();
          for (const state of target.readStates.slice(before)) {
            out.push(`read-state index=${state.index} context=${new TextDecoder().decode(state.context)}`);
          }
          break;
        }
        case "conf-change": {
          const changes: ConfChangeSingle[] = [];
          let transition = ConfChangeTransition.Auto;
          for (const arg of args.slice(1)) {
            const [kind, id] = arg.split("=");
            if (kind === "add-voter") changes.push({ type: ConfChangeType.AddVoter, nodeId: Number(id) });
            else if (kind === "add-learner") changes.push({ type: ConfChangeType.AddLearner, nodeId: Number(id) });
            else if (kind === "remove") changes.push({ type: ConfChangeType.RemoveNode, nodeId: Number(id) });
            else if (kind === "joint-explicit") transition = ConfChangeTransition.JointExplicit;
            else if (kind === "joint-implicit") transition = ConfChangeTransition.JointImplicit;
            else throw new Error(`unknown conf change part ${arg}`);
          }
          const position = need().get(Number(args[0])).node.proposeConfChange({
            transition,
            changes,
            context: new Uint8Array(0),
          });
          out.push(`index=${position.index} term=${position.term}`);
          break;
        }
        case "add-node":
          need().add(Number(args[0]));
          break;
        case "restart":
          need().restart(Number(args[0]));
          break;
        case "status":
          for (const [id, harnessNode] of need().nodes) {
            const status = harnessNode.node.status();
            const conf = status.confState;
            const outgoing = conf.votersOutgoing.length > 0 ? `&&(${conf.votersOutgoing.join(",")})` : "";
            const learners = conf.learners.length > 0 ? ` learners=(${conf.learners.join(",")})` : "";
            out.push(
              `${id}: ${status.role} term=${status.term} lead=${status.leader} commit=${status.commit} ` +
                `last=${status.lastIndex} voters=(${conf.voters.join(",")})${outgoing}${learners}`,
            );
          }
          break;
        case "log": {
          const harnessNode = need().get(Number(args[0]));
          const storage = harnessNode.storage;
          const entries = storage.lastIndex() >= storage.firstIndex()
            ? storage.entries(storage.firstIndex(), storage.lastIndex() + 1, Infinity)
            : [];
          out.push(
            entries
              .map((e) => `${e.index}/${e.term}${e.type === EntryType.ConfChange ? "(conf)" : e.data.length > 0 ? `(${new TextDecoder().decode(e.data)})` : ""}`)
              .join(" ") || "(empty)",
          );
          break;
        }
        case "applied":
          out.push(need().appliedData(Number(args[0])).join(" ") || "(nothing)");
          break;
        default:
          throw new Error(`unknown command ${name}`);
      }
    } catch (error) {
      out.push(`error: ${error instanceof Error ? error.message : String(error)}`);
    }
    return out.join("\n") || "ok";
  });
}

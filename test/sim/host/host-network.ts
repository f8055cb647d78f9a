import type { Message, NodeId, RandomSource } from "../../../framework/raft/index.js";
import { MessageType } from "../../../framework/raft/index.js";
import type {
  GroupMessage,
  Transport,
  TransportHandler,
} from "../../../framework/transport/index.js";
import type { SimulatedNetwork } from "../network.js";
import { chance } from "../nemesis.js";
import type { Scheduler } from "./scheduler.js";

/**
 * Transports of the simulated nodes over test/sim's SimulatedNetwork, with
 * delivery driven by the scheduler: each send is split per destination into
 * one batch (as one peer stream would carry it), which the network may drop,
 * duplicate or delay (delays differ per batch, so batches reorder). A link
 * cut while a batch is in flight loses it. Snapshots stream as one transfer
 * that succeeds only if the receiver stores it.
 */
export interface HostNetworkEnvironment {
  readonly scheduler: Scheduler;
  readonly network: SimulatedNetwork;
  readonly random: RandomSource;
  /** Virtual milliseconds per network tick of the fault mix (delays are in ticks). */
  readonly tickMs: number;
  /** The running incarnation's handler of a node, if it is up. */
  handler(
    nodeId: NodeId,
  ): { readonly incarnation: number; readonly handler: TransportHandler } | undefined;
  /** Every batch a node sends, before the network decides its fate. */
  observeSent(from: NodeId, batch: readonly GroupMessage[]): void;
  /** Calls `callback` when that incarnation of the node crashes (a stream breaks). */
  onCrash(nodeId: NodeId, incarnation: number, callback: () => void): void;
  count(what: NetworkCounter): void;
}

export type NetworkCounter =
  | "batchesSent"
  | "batchesDropped"
  | "batchesDuplicated"
  | "snapshotsSent"
  | "snapshotsDelivered"
  | "snapshotsFailed";

export function createHostTransport(
  env: HostNetworkEnvironment,
  nodeId: NodeId,
  incarnation: number,
): Transport {
  let closed = false;
  const senderAlive = (): boolean => !closed && env.handler(nodeId)?.incarnation === incarnation;
  const delay = (ticks: number): number => ticks * env.tickMs + env.random.nextInt(env.tickMs);
  const send = (messages: readonly GroupMessage[]): void => {
    if (!senderAlive()) return;
    for (const { message } of messages) checkOutgoing(nodeId, message);
    env.observeSent(nodeId, messages);
    for (const [to, batch] of splitByDestination(messages)) sendBatch(to, batch);
  };
  const sendBatch = (to: NodeId, batch: readonly GroupMessage[]): void => {
    env.count("batchesSent");
    const decision = env.network.decide(nodeId, to);
    if (decision.kind === "dropped") {
      env.count("batchesDropped");
      // The sender's stream notices a dead peer now and then, never inside send().
      if (chance(env.random, 0.2)) {
        const groups = [...new Set(batch.map((item) => item.groupId))].filter((id) => id !== 0);
        env.scheduler.after(env.tickMs, () => {
          const sender = env.handler(nodeId);
          if (sender?.incarnation !== incarnation) return;
          for (const groupId of groups) sender.handler.onUnreachable(groupId, to);
        });
      }
      // Now and then the stream resets although the sender lives: a false hint at the receiver.
      if (chance(env.random, 0.05)) {
        env.scheduler.after(env.tickMs, () => env.handler(to)?.handler.onPeerDisconnected?.(nodeId));
      }
      return;
    }
    if (decision.delays.length > 1) env.count("batchesDuplicated");
    for (const ticks of decision.delays) {
      env.scheduler.after(delay(ticks), () => deliver(to, batch), describeBatch(nodeId, to, batch));
    }
  };
  const deliver = (to: NodeId, batch: readonly GroupMessage[]): void => {
    const target = env.handler(to);
    if (target === undefined || env.network.isCut(nodeId, to)) return;
    target.handler.onMessages(nodeId, batch);
  };
  return {
    nodeId,
    start: async () => {},
    send,
    sendSnapshot: (to, groupId, message, chunks) =>
      sendSnapshot(env, { nodeId, senderAlive, delay }, to, groupId, message, chunks),
    close: async () => {
      closed = true;
    },
  };
}

function checkOutgoing(nodeId: NodeId, message: Message): void {
  if (message.from !== nodeId) {
    throw new Error(`transport of node ${nodeId}: message from ${message.from}`);
  }
  if (message.to === nodeId || message.to === 0) {
    throw new Error(`transport of node ${nodeId}: message to ${message.to}`);
  }
}

function splitByDestination(messages: readonly GroupMessage[]): Map<NodeId, GroupMessage[]> {
  const byTarget = new Map<NodeId, GroupMessage[]>();
  for (const item of messages) {
    let list = byTarget.get(item.message.to);
    if (list === undefined) byTarget.set(item.message.to, (list = []));
    list.push(item);
  }
  return byTarget;
}

function describeBatch(from: NodeId, to: NodeId, batch: readonly GroupMessage[]): string {
  const parts = batch.map(({ groupId, message }) =>
    groupId === 0
      ? "ping"
      : `g${groupId}:${message.type}:t${message.term}:i${message.index}/${message.logTerm}` +
        `:n${message.entries.length}:c${message.commit}${message.reject ? ":R" : ""}`,
  );
  return `d ${from}>${to} ${parts.join(" ")}`;
}

interface Sender {
  readonly nodeId: NodeId;
  senderAlive(): boolean;
  delay(ticks: number): number;
}

/** One snapshot transfer: the whole stream crosses the link or fails. */
async function sendSnapshot(
  env: HostNetworkEnvironment,
  sender: Sender,
  to: NodeId,
  groupId: number,
  message: Message,
  chunks: AsyncIterable<Uint8Array>,
): Promise<void> {
  if (message.type !== MessageType.Snapshot || message.snapshot === undefined) {
    throw new Error(`node ${sender.nodeId}: sendSnapshot with a message of type ${message.type}`);
  }
  env.count("snapshotsSent");
  const collected: Uint8Array[] = [];
  for await (const chunk of chunks) collected.push(chunk);
  const decision = env.network.decide(sender.nodeId, to);
  const ticks = decision.kind === "dropped" ? 2 : Math.max(...decision.delays);
  const label =
    `snapshot ${sender.nodeId}>${to} g${groupId} i${message.snapshot.metadata.index}` +
    `${decision.kind === "dropped" ? " dropped" : ""}`;
  // The sender's side of the stream: it hears back only while it lives.
  return new Promise<void>((resolve, reject) => {
    const fail = (reason: string): void => {
      env.count("snapshotsFailed");
      if (sender.senderAlive()) reject(new Error(`snapshot to ${to}: ${reason}`));
    };
    env.scheduler.after(
      sender.delay(ticks),
      () => {
        const target = env.handler(to);
        if (decision.kind === "dropped") return fail("lost");
        if (target === undefined || env.network.isCut(sender.nodeId, to))
          return fail("unreachable");
        let settled = false;
        env.onCrash(to, target.incarnation, () => {
          if (!settled) fail("receiver crashed");
          settled = true;
        });
        target.handler
          .onSnapshot({ from: sender.nodeId, groupId, message, chunks: replay(collected) })
          .then(
            () => {
              if (settled) return;
              settled = true;
              env.count("snapshotsDelivered");
              if (sender.senderAlive()) resolve();
            },
            (error: unknown) => {
              if (settled) return;
              settled = true;
              fail(`refused: ${String(error)}`);
            },
          );
      },
      label,
    );
  });
}

async function* replay(chunks: readonly Uint8Array[]): AsyncIterable<Uint8Array> {
  for (const chunk of chunks) yield chunk.slice();
}

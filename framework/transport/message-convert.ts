import { create } from "@bufbuild/protobuf";
import type {
  ConfState,
  Entry,
  Message,
  Snapshot,
  SnapshotMetadata,
} from "../raft/index.js";
import type {
  ConfState as ProtoConfState,
  Message as ProtoMessage,
  Snapshot as ProtoSnapshot,
} from "../../gen/raftkit/v1/raft_pb.js";
import {
  ConfStateSchema,
  EntrySchema,
  MessageSchema,
  SnapshotMetadataSchema,
  SnapshotSchema,
} from "../../gen/raftkit/v1/raft_pb.js";
import { TransportError, TransportErrorCode } from "./errors.js";

/**
 * Conversion between the core's records (number terms and indexes) and the
 * protobuf-es messages of raft.proto (bigint). Used off the hot path (the
 * snapshot header) and as the reference the hand-written codec is tested and
 * benchmarked against.
 */
export function messageToProto(message: Message): ProtoMessage {
  const type: number = message.type;
  return create(MessageSchema, {
    type,
    to: BigInt(message.to),
    from: BigInt(message.from),
    term: BigInt(message.term),
    logTerm: BigInt(message.logTerm),
    index: BigInt(message.index),
    entries: message.entries.map((entry) => {
      const entryType: number = entry.type;
      return create(EntrySchema, {
        term: BigInt(entry.term),
        index: BigInt(entry.index),
        type: entryType,
        data: entry.data,
      });
    }),
    commit: BigInt(message.commit),
    snapshot: message.snapshot === undefined ? undefined : snapshotToProto(message.snapshot),
    reject: message.reject,
    rejectHint: BigInt(message.rejectHint),
    context: message.context,
  });
}

function snapshotToProto(snapshot: Snapshot): ProtoSnapshot {
  const confState = snapshot.metadata.confState;
  return create(SnapshotSchema, {
    metadata: create(SnapshotMetadataSchema, {
      index: BigInt(snapshot.metadata.index),
      term: BigInt(snapshot.metadata.term),
      confState: create(ConfStateSchema, {
        voters: confState.voters.map(BigInt),
        learners: confState.learners.map(BigInt),
        votersOutgoing: confState.votersOutgoing.map(BigInt),
        learnersNext: confState.learnersNext.map(BigInt),
        autoLeave: confState.autoLeave,
      }),
    }),
    data: snapshot.data,
  });
}

export function messageFromProto(message: ProtoMessage): Message {
  const type: number = message.type;
  return {
    type,
    to: toNumber(message.to, "Message.to"),
    from: toNumber(message.from, "Message.from"),
    term: toNumber(message.term, "Message.term"),
    logTerm: toNumber(message.logTerm, "Message.log_term"),
    index: toNumber(message.index, "Message.index"),
    entries: message.entries.map((entry): Entry => {
      const entryType: number = entry.type;
      return {
        term: toNumber(entry.term, "Entry.term"),
        index: toNumber(entry.index, "Entry.index"),
        type: entryType,
        data: entry.data,
      };
    }),
    commit: toNumber(message.commit, "Message.commit"),
    snapshot: message.snapshot === undefined ? undefined : snapshotFromProto(message.snapshot),
    reject: message.reject,
    rejectHint: toNumber(message.rejectHint, "Message.reject_hint"),
    context: message.context,
  };
}

function snapshotFromProto(snapshot: ProtoSnapshot): Snapshot {
  const metadata: SnapshotMetadata = {
    index: toNumber(snapshot.metadata?.index ?? 0n, "SnapshotMetadata.index"),
    term: toNumber(snapshot.metadata?.term ?? 0n, "SnapshotMetadata.term"),
    confState: confStateFromProto(snapshot.metadata?.confState),
  };
  return { metadata, data: snapshot.data };
}

function confStateFromProto(confState: ProtoConfState | undefined): ConfState {
  const list = (values: readonly bigint[] | undefined): number[] =>
    (values ?? []).map((value) => toNumber(value, "ConfState node id"));
  return {
    voters: list(confState?.voters),
    learners: list(confState?.learners),
    votersOutgoing: list(confState?.votersOutgoing),
    learnersNext: list(confState?.learnersNext),
    autoLeave: confState?.autoLeave ?? false,
  };
}

function toNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new TransportError(TransportErrorCode.Malformed, `${what} = ${value} exceeds 2^53 - 1`);
  }
  return Number(value);
}

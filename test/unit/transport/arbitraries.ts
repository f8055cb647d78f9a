import fc from "fast-check";
import type { ConfState, Entry, Message, Snapshot } from "../../../framework/raft/index.js";
import { EntryType, MessageType } from "../../../framework/raft/index.js";
import type { GroupMessage } from "../../../framework/transport/index.js";

/** Numbers across the varint length classes, up to 2^53 - 1. */
export const uint53 = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 0, max: 127 }),
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.maxSafeNat(),
);

const bytes = fc.uint8Array({ maxLength: 64 });

export const entryArbitrary: fc.Arbitrary<Entry> = fc.record({
  term: uint53,
  index: uint53,
  type: fc.constantFrom(EntryType.Normal, EntryType.ConfChange),
  data: bytes,
});

const nodeIds = fc.array(uint53, { maxLength: 5 });

export const confStateArbitrary: fc.Arbitrary<ConfState> = fc.record({
  voters: nodeIds,
  learners: nodeIds,
  votersOutgoing: nodeIds,
  learnersNext: nodeIds,
  autoLeave: fc.boolean(),
});

export const snapshotArbitrary: fc.Arbitrary<Snapshot> = fc.record({
  metadata: fc.record({ index: uint53, term: uint53, confState: confStateArbitrary }),
  data: bytes,
});

const messageTypes = Object.values(MessageType).filter(
  (value): value is MessageType => typeof value === "number",
);

export const messageArbitrary: fc.Arbitrary<Message> = fc.record({
  type: fc.constantFrom(...messageTypes),
  to: uint53,
  from: uint53,
  term: uint53,
  logTerm: uint53,
  index: uint53,
  entries: fc.array(entryArbitrary, { maxLength: 4 }),
  commit: uint53,
  snapshot: fc.option(snapshotArbitrary, { nil: undefined }),
  reject: fc.boolean(),
  rejectHint: uint53,
  context: bytes,
});

export const groupMessageArbitrary: fc.Arbitrary<GroupMessage> = fc.record({
  groupId: uint53,
  message: messageArbitrary,
});

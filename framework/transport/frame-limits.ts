/**
 * Protobuf overhead around the payload of one frame: the batch header
 * (two uint64 fields, ≤ 22 bytes) and, per message, a tag and a length
 * varint (≤ 6 bytes). Batches are cut so payload + overhead ≤ maxFrameBytes.
 * @internal
 */
export const batchHeaderOverheadBytes = 32;
export const perMessageOverheadBytes = 6;
/** Tag and length of a snapshot data chunk inside SendSnapshotRequest. */
export const chunkOverheadBytes = 8;

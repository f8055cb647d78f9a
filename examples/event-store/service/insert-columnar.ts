import { defineExecutableMessage } from "../../../framework/statemachine/index.js";
import { Insert } from "./descriptors.js";
import { insertCommandCodec } from "./insert-codec.js";

/**
 * Insert with its request in columnar form (InsertCommand): the same rpc and
 * the same bytes, for the leader's buffer, which proposes merged batches
 * straight from Float64Arrays. Executors never see this form (they take
 * InsertRequest through descriptors.ts's codec override).
 */
export const InsertColumnar = defineExecutableMessage({
  ...Insert,
  request: insertCommandCodec,
});

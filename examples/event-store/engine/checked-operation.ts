import type { BlockLayout } from "./block-layout.js";
import type { RowSource } from "./row-source.js";
import type { StreamSchema } from "./schema.js";

/** An operation after its checks: what the WAL stores and what apply consumes. @internal */
export type CheckedOperation =
  | { readonly kind: "createStream"; readonly stream: string; readonly schema: StreamSchema }
  | {
    readonly kind: "insert";
    readonly stream: string;
    readonly layout: BlockLayout;
    readonly source: RowSource;
  };

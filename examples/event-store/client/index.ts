export type {
  ConnectOptions, EventStoreClient, InsertOptions, InsertResult, RangeOptions,
} from "./event-store-client.js";
export { EventStore } from "./event-store-client.js";
export type { EventColumns, EventRow, FieldValue } from "./event-rows.js";

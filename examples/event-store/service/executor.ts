/**
 * The executor interface and its registration come from `raftkit generate`
 * (../gen/eventstore/v1/eventstore_raftkit.ts); registration takes the event
 * store's descriptor set, the generated one with its codec override.
 */
import type { ExecutorRegistry } from "../../../framework/statemachine/index.js";
import {
  registerEventStoreService as registerGenerated,
  type EventStoreServiceExecutor,
} from "../gen/eventstore/v1/eventstore_raftkit.js";
import { eventStoreDescriptors } from "./descriptors.js";

export type { EventStoreServiceExecutor };

export function registerEventStoreService(
  registry: ExecutorRegistry,
  executor: EventStoreServiceExecutor,
): void {
  registerGenerated(registry, executor, eventStoreDescriptors);
}

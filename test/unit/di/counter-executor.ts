/** What a user writes: the executor class, its dependencies injected by token. */
import { inject, injectable } from "inversify";
import type { PartitionInfo } from "../../../framework/cluster/index.js";
import { PartitionInfoToken, ReplicaIdToken } from "../../../framework/di/index.js";
import type {
  AddRequest,
  CounterValue,
  NameRequest,
} from "../statemachine/counter-kv-messages.js";
import type { CounterKvState } from "../statemachine/counter-kv-state-machine.js";
import { createCounterKvState } from "../statemachine/counter-kv-state-machine.js";
import type { CounterExecutor } from "./counter-glue.js";

/** A user's own dependency: how much every Add is multiplied by. */
export const MultiplierToken: unique symbol = Symbol.for("test.Multiplier");

/** Every executor built, so tests can see what each partition received. */
export const builtExecutors: UserCounterExecutor[] = [];

@injectable()
export class UserCounterExecutor implements CounterExecutor {
  readonly state: CounterKvState = createCounterKvState();

  constructor(
    @inject(PartitionInfoToken) readonly partition: PartitionInfo,
    @inject(ReplicaIdToken) readonly replicaId: number,
    @inject(MultiplierToken) private readonly multiplier: number,
  ) {
    builtExecutors.push(this);
  }

  add(request: AddRequest): CounterValue {
    return { value: this.state.add(request.name, request.delta * this.multiplier) };
  }

  get(request: NameRequest): CounterValue {
    return { value: this.state.counters.get(request.name) ?? 0 };
  }
}

/**
 * The DI glue codegen emits for a state machine (here written by hand, and
 * compiled by the test run, as the reference docs/di.md points to): a token
 * for the user's executor class, a provider bound to
 * StateMachineProviderToken that builds one state machine per partition
 * from a partition scope, and a bind function.
 */
import { inject, injectable } from "inversify";
import type { Container, Newable } from "inversify";
import type { PartitionInfo } from "../../../framework/cluster/index.js";
import type { PartitionScopeFactory, StateMachineProvider } from "../../../framework/di/index.js";
import {
  PartitionScopeFactoryToken,
  StateMachineProviderToken,
} from "../../../framework/di/index.js";
import type {
  ApplyContext,
  ExecutableState,
  ExecutableStateMachine,
  QueryContext,
} from "../../../framework/statemachine/index.js";
import {
  createExecutableStateMachine,
  createExecutorRegistry,
} from "../../../framework/statemachine/index.js";
import type {
  AddRequest,
  CounterValue,
  NameRequest,
} from "../statemachine/counter-kv-messages.js";
import { Add, GetCounter } from "../statemachine/counter-kv-state-machine.js";

// ---- generated: the executor interface of service counter.v1.CounterService
export interface CounterExecutor {
  /** The state the executor changes; the framework saves and restores it. */
  readonly state: ExecutableState;
  add(request: AddRequest, context: ApplyContext): CounterValue;
  get(request: NameRequest, context: QueryContext): CounterValue;
}

// ---- generated: DI glue
export const CounterExecutorToken: unique symbol = Symbol.for("counter.v1.CounterExecutor");

@injectable()
export class CounterStateMachineProvider implements StateMachineProvider {
  readonly type = "counter";

  constructor(
    @inject(PartitionScopeFactoryToken) private readonly scopeOf: PartitionScopeFactory,
  ) {}

  create(partition: PartitionInfo, replicaId: number): ExecutableStateMachine {
    const scope = this.scopeOf(partition, replicaId);
    const executor = scope.get<CounterExecutor>(CounterExecutorToken);
    const registry = createExecutorRegistry();
    registry.registerCommand(Add, (request, context) => executor.add(request, context));
    registry.registerQuery(GetCounter, (request, context) => executor.get(request, context));
    return createExecutableStateMachine({
      partitionId: partition.partitionId,
      registry,
      state: executor.state,
    });
  }
}

/** Binds the user's executor class and the provider (transient: one executor per partition). */
export function bindCounterStateMachine(
  container: Container,
  executor: Newable<CounterExecutor>,
): void {
  container.bind<CounterExecutor>(CounterExecutorToken).to(executor);
  container.bind<StateMachineProvider>(StateMachineProviderToken).to(CounterStateMachineProvider);
}

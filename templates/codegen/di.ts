import type { ServiceModel } from "../../codegen/model.js";
import {
  bindName,
  descriptorSetName,
  descriptorSetTypeName,
  executorName,
  executorTokenName,
  providerFactoryName,
  registerName,
} from "../../codegen/names.js";
import type { RenderContext } from "./render-context.js";

/**
 * DI glue for framework/di: a token for the executor, a StateMachineProvider
 * factory and a bind function (multi-binding on StateMachineProviderToken).
 * No decorators, so a user's tsconfig needs no decorator settings for it.
 */
export function renderDi(context: RenderContext, service: ServiceModel): void {
  renderToken(context, service);
  renderProviderFactory(context, service);
  renderBind(context, service);
}

function renderToken(context: RenderContext, service: ServiceModel): void {
  const { file } = context;
  file.print(file.jsDoc(
    `Where the container finds the executor of state machine "${service.stateMachine}": bind a ` +
      `class\nimplementing ${executorName(service)} and ExecutableState (it is the state too), ` +
      `transient,\nso every partition replica gets its own (it may @inject(PartitionInfoToken)).`,
  ));
  file.print(file.export("const", executorTokenName(service)), ": unique symbol = Symbol.for(",
    file.string(`${service.desc.typeName}/executor`), ");");
  file.print();
}

function renderProviderFactory(context: RenderContext, service: ServiceModel): void {
  const { file } = context;
  const statemachine = (name: string, typeOnly = false) =>
    context.framework("statemachine", name, typeOnly);
  file.print(file.jsDoc(
    `The StateMachineProvider of "${service.stateMachine}": per partition replica, resolves ` +
      `${executorTokenName(service)}\nin a partition scope, registers it and builds the ` +
      `executable state machine around it.\n\`descriptors\`: the set to register ` +
      `(default the generated one).`,
  ));
  file.print(file.export("function", providerFactoryName(service)), "(");
  file.print("  scopes: ", context.framework("di", "PartitionScopeFactory", true), ",");
  file.print("  limits: Partial<", statemachine("ExecutableLimits", true), "> = {},");
  printDescriptorsParameter(context, service);
  file.print("): ", context.framework("di", "StateMachineProvider", true), " {");
  file.print("  return {");
  file.print("    type: ", file.string(service.stateMachine), ",");
  file.print("    create(partition, replicaId) {");
  file.print("      const scope = scopes(partition, replicaId);");
  file.print("      const executor = scope.get<",
    context.executable(executorName(service), true), " & ",
    statemachine("ExecutableState", true), ">(", executorTokenName(service), ");");
  file.print("      const registry = ", statemachine("createExecutorRegistry"), "();");
  file.print("      ", context.executable(registerName(service)),
    "(registry, executor, descriptors);");
  file.print("      return ", statemachine("createExecutableStateMachine"),
    "({ partitionId: partition.partitionId, registry, state: executor, limits });");
  file.print("    },");
  file.print("  };");
  file.print("}");
  file.print();
}

function renderBind(context: RenderContext, service: ServiceModel): void {
  const { file } = context;
  const executorType = [context.executable(executorName(service), true), " & ",
    context.framework("statemachine", "ExecutableState", true)];
  file.print(file.jsDoc(
    `Binds \`executor\` (transient: one per partition replica) to ${executorTokenName(service)} ` +
      `and the\nStateMachineProvider of "${service.stateMachine}" to StateMachineProviderToken ` +
      `(registering\n\`descriptors\`, default the generated ones).`,
  ));
  file.print(file.export("function", bindName(service)), "(");
  file.print("  container: ", file.import("Container", "inversify", true), ",");
  file.print("  executor: ", file.import("Newable", "inversify", true), "<", executorType, ">,");
  file.print("  limits: Partial<", context.framework("statemachine", "ExecutableLimits", true),
    "> = {},");
  printDescriptorsParameter(context, service);
  file.print("): void {");
  file.print("  container.bind<", executorType, ">(", executorTokenName(service),
    ").to(executor);");
  file.print("  container.bind(", context.framework("di", "StateMachineProviderToken"),
    ").toDynamicValue((resolution) =>");
  file.print("    ", providerFactoryName(service), "(resolution.get<",
    context.framework("di", "PartitionScopeFactory", true), ">(",
    context.framework("di", "PartitionScopeFactoryToken"), "), limits, descriptors));");
  file.print("}");
  file.print();
}

function printDescriptorsParameter(context: RenderContext, service: ServiceModel): void {
  context.file.print("  descriptors: ", context.executable(descriptorSetTypeName(service), true),
    " = ", context.executable(descriptorSetName(service)), ",");
}

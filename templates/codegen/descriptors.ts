import type { MethodModel, ServiceModel } from "../../codegen/model.js";
import { descriptorName } from "../../codegen/names.js";
import type { RenderContext } from "./render-context.js";

/**
 * One descriptor per rpc: the executable message the registry, the dispatcher
 * and the client share.
 *
 *   export const KvServicePut: ExecutableMessage<PutRequest, PutResponse> =
 *     defineExecutableMessage({ typeName: "kv.v1.KvService/Put", kind: Command, ... });
 */
export function renderDescriptors(context: RenderContext, service: ServiceModel): void {
  for (const method of service.methods) renderDescriptor(context, service, method);
}

function renderDescriptor(
  context: RenderContext,
  service: ServiceModel,
  method: MethodModel,
): void {
  const { file } = context;
  const request = context.messageType(method.desc.input);
  const response = context.messageType(method.desc.output);
  const kind = method.kind === "command" ? "Command" : "Query";
  const defaults = [
    `${method.kind} of state machine "${service.stateMachine}"`,
    method.consistency === undefined ? undefined : `default consistency: ${method.consistency}`,
    method.deadlineMs === undefined ? undefined : `default deadline: ${method.deadlineMs} ms`,
  ].filter((part) => part !== undefined);
  file.print(file.jsDoc(`${method.typeName}: ${defaults.join("; ")}.`));
  file.print(file.export("const", descriptorName(method)), ": ",
    context.framework("statemachine", "ExecutableMessage", true),
    "<", request, ", ", response, "> =");
  file.print("  ", context.framework("statemachine", "defineExecutableMessage"), "({");
  file.print("    typeName: ", file.string(method.typeName), ",");
  file.print("    kind: ", context.framework("statemachine", "ExecutableKind"), ".", kind, ",");
  file.print("    stateMachine: ", file.string(service.stateMachine), ",");
  file.print("    request: ", context.messageCodec(method.desc.input), ",");
  file.print("    response: ", context.messageCodec(method.desc.output), ",");
  file.print("  });");
  file.print();
}

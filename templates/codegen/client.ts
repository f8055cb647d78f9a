import { ScalarType } from "@bufbuild/protobuf";
import type { MethodModel, ServiceModel } from "../../codegen/model.js";
import { methodMemberName } from "../../codegen/model.js";
import { clientName, descriptorSetName, descriptorSetTypeName } from "../../codegen/names.js";
import type { RenderContext } from "./render-context.js";

/**
 * A typed client over RaftkitClient: one method per rpc, the rpc's default
 * deadline and consistency filled in unless the call gives its own.
 *
 *   export class KvServiceClient {
 *     constructor(client: RaftkitClient, descriptors = kvServiceDescriptors) {...}
 *     put(partitionOrKey: number | string, request: PutRequest, options?: CallOptions) {...}
 *     putByKey(request: PutRequest, options?: CallOptions) {...} // rpcs with a partition key
 *   }
 */
export function renderClient(context: RenderContext, service: ServiceModel): void {
  const { file } = context;
  file.print(file.jsDoc(
    `Typed client of state machine "${service.stateMachine}" ` +
      `(service ${service.desc.typeName}).\n` +
      `A partition is a partition id (number) or a key (string) routed to a partition of ` +
      `"${service.stateMachine}".\n` +
      `\`descriptors\`: the set whose codecs encode requests and decode results ` +
      `(default the generated one).`,
  ));
  file.print(file.export("class", clientName(service)), " {");
  // A plain field, not a parameter property: generated code stays erasable TypeScript.
  const raftkitClient = context.framework("client", "RaftkitClient", true);
  const descriptors = context.executable(descriptorSetTypeName(service), true);
  file.print("  private readonly client: ", raftkitClient, ";");
  file.print("  private readonly descriptors: ", descriptors, ";");
  file.print();
  file.print("  constructor(");
  file.print("    client: ", raftkitClient, ",");
  file.print("    descriptors: ", descriptors, " = ",
    context.executable(descriptorSetName(service)), ",");
  file.print("  ) {");
  file.print("    this.client = client;");
  file.print("    this.descriptors = descriptors;");
  file.print("  }");
  for (const method of service.methods) {
    file.print();
    renderCall(context, method);
    if (method.partitionKey !== undefined) {
      file.print();
      renderCallByKey(context, method);
    }
  }
  file.print("}");
  file.print();
}

function renderCall(context: RenderContext, method: MethodModel): void {
  const { file } = context;
  const request = context.messageType(method.desc.input);
  const response = context.messageType(method.desc.output);
  const options = optionsType(context, method);
  file.print(file.jsDoc(method.desc, "  "));
  file.print("  ", methodMemberName(method.desc), "(partitionOrKey: number | string, request: ",
    request, ", options?: ", options, "): Promise<", response, "> {");
  const call = method.kind === "command" ? "command" : "query";
  const descriptor = `this.descriptors.${methodMemberName(method.desc)}`;
  if (method.deadlineMs === undefined && method.consistency === undefined) {
    file.print("    return this.client.", call, "(", descriptor,
      ", partitionOrKey, request, options);");
    file.print("  }");
    return;
  }
  // The rpc's defaults, unless the call gives its own (an explicit undefined keeps the default).
  file.print("    return this.client.", call, "(", descriptor, ", partitionOrKey, request, {");
  file.print("      ...options,");
  if (method.deadlineMs !== undefined) {
    file.print("      deadlineMs: options?.deadlineMs ?? ", method.deadlineMs, ",");
  }
  if (method.consistency !== undefined) {
    file.print("      consistency: options?.consistency ?? ", file.string(method.consistency), ",");
  }
  file.print("    });");
  file.print("  }");
}

/** The call routed by the request's partition key (an integer key routes as its decimal string). */
function renderCallByKey(context: RenderContext, method: MethodModel): void {
  const { file } = context;
  const field = method.partitionKey;
  if (field === undefined) return;
  const request = context.messageType(method.desc.input);
  const response = context.messageType(method.desc.output);
  const member = methodMemberName(method.desc);
  const isString = field.fieldKind === "scalar" && field.scalar === ScalarType.STRING;
  const key = isString ? `request.${field.localName}` : `String(request.${field.localName})`;
  const doc = `${member}, routed by the request's partition key \`${field.name}\`.`;
  file.print(file.jsDoc(doc, "  "));
  file.print("  ", member, "ByKey(request: ", request, ", options?: ", optionsType(context, method),
    "): Promise<", response, "> {");
  file.print("    return this.", member, "(", key, ", request, options);");
  file.print("  }");
}

function optionsType(
  context: RenderContext,
  method: MethodModel,
): ReturnType<RenderContext["framework"]> {
  return context.framework("client", method.kind === "command" ? "CallOptions" : "QueryCallOptions",
    true);
}

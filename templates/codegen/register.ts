import type { ServiceModel } from "../../codegen/model.js";
import { methodMemberName } from "../../codegen/model.js";
import {
  descriptorSetName,
  descriptorSetTypeName,
  executorName,
  registerName,
} from "../../codegen/names.js";
import type { RenderContext } from "./render-context.js";

/**
 * Registers every rpc of a service with the executor's method of the same name.
 *
 *   export function registerKvService(registry: ExecutorRegistry, executor: KvServiceExecutor,
 *     descriptors: KvServiceDescriptors = kvServiceDescriptors) {
 *     registry.registerCommand(descriptors.put, (request, context) =>
 *       executor.put(request, context));
 *   }
 */
export function renderRegister(context: RenderContext, service: ServiceModel): void {
  const { file } = context;
  file.print(file.jsDoc(
    `Registers every rpc of ${service.desc.typeName} with \`executor\`.\n` +
      `Every replica of a partition must register the same executors (and descriptors:\n` +
      `\`${descriptorSetName(service)}\`, or a set with codecs replaced).`,
  ));
  file.print(file.export("function", registerName(service)), "(");
  file.print("  registry: ", context.framework("statemachine", "ExecutorRegistry", true), ",");
  file.print("  executor: ", executorName(service), ",");
  file.print("  descriptors: ", descriptorSetTypeName(service), " = ", descriptorSetName(service),
    ",");
  file.print("): void {");
  for (const method of service.methods) {
    const register = method.kind === "command" ? "registerCommand" : "registerQuery";
    const member = methodMemberName(method.desc);
    file.print("  registry.", register, "(descriptors.", member,
      ", (request, context) => executor.", member, "(request, context));");
  }
  file.print("}");
  file.print();
}

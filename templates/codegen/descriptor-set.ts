import type { ServiceModel } from "../../codegen/model.js";
import { methodMemberName } from "../../codegen/model.js";
import {
  codecOverridesTypeName,
  createDescriptorSetName,
  descriptorName,
  descriptorSetName,
  descriptorSetTypeName,
  stateMachineConstantName,
} from "../../codegen/names.js";
import type { RenderContext } from "./render-context.js";

/**
 * A service's descriptors as one set, so an application can replace a
 * message's codec without editing generated files; register, the client and
 * the DI glue take a set (the generated one by default).
 *
 *   export const kvServiceStateMachine = "kvstore";
 *   export interface KvServiceDescriptors { readonly put: ExecutableMessage<...>; ... }
 *   export type KvServiceCodecOverrides = CodecOverrides<KvServiceDescriptors>;
 *   export const kvServiceDescriptors: KvServiceDescriptors = { put: KvServicePut, ... };
 *   export function createKvServiceDescriptors<Overrides extends KvServiceCodecOverrides>(
 *     overrides?: Overrides): DescriptorsWithCodecs<KvServiceDescriptors, Overrides> {...}
 */
export function renderStateMachineConstant(context: RenderContext, service: ServiceModel): void {
  const { file } = context;
  file.print(file.jsDoc(`The state machine type of service ${service.desc.typeName}.`));
  file.print(file.export("const", stateMachineConstantName(service)), " = ",
    file.string(service.stateMachine), ";");
  file.print();
}

export function renderDescriptorSet(context: RenderContext, service: ServiceModel): void {
  renderSetInterface(context, service);
  renderDefaultSet(context, service);
  renderSetFactory(context, service);
}

function renderSetInterface(context: RenderContext, service: ServiceModel): void {
  const { file } = context;
  file.print(file.jsDoc(`The executable messages of ${service.desc.typeName}, one per rpc.`));
  file.print(file.export("interface", descriptorSetTypeName(service)), " {");
  for (const method of service.methods) {
    file.print("  readonly ", methodMemberName(method.desc), ": ",
      context.framework("statemachine", "ExecutableMessage", true), "<",
      context.messageType(method.desc.input), ", ", context.messageType(method.desc.output), ">;");
  }
  file.print("}");
  file.print();
  file.print(file.jsDoc(
    `Codecs replacing generated ones, per rpc (wire compatible; see withCodecs).`));
  file.print(file.export("type", codecOverridesTypeName(service)), " = ",
    context.framework("statemachine", "CodecOverrides", true), "<",
    descriptorSetTypeName(service), ">;");
  file.print();
}

function renderDefaultSet(context: RenderContext, service: ServiceModel): void {
  const { file } = context;
  file.print(file.jsDoc(`The generated descriptors of ${service.desc.typeName}.`));
  file.print(file.export("const", descriptorSetName(service)), ": ",
    descriptorSetTypeName(service), " = {");
  for (const method of service.methods) {
    file.print("  ", methodMemberName(method.desc), ": ", descriptorName(method), ",");
  }
  file.print("};");
  file.print();
}

function renderSetFactory(context: RenderContext, service: ServiceModel): void {
  const { file } = context;
  const statemachine = (name: string, typeOnly = false) =>
    context.framework("statemachine", name, typeOnly);
  file.print(file.jsDoc(
    `The descriptors of ${service.desc.typeName} with some codecs replaced ` +
      `(same type names,\nkinds and state machine; each rpc typed by its codecs, see ` +
      `withCodecs).\nRegister, the client and the DI glue take the result while its ` +
      `types are the generated ones.`));
  file.print(file.export("function", createDescriptorSetName(service)), "<");
  file.print("  Overrides extends ", codecOverridesTypeName(service), " = Record<never, never>,");
  file.print(">(");
  file.print("  overrides?: Overrides,");
  file.print("): ", statemachine("DescriptorsWithCodecs", true), "<",
    descriptorSetTypeName(service), ", Overrides> {");
  file.print("  return ", statemachine("withCodecOverrides"), "(", descriptorSetName(service),
    ", overrides);");
  file.print("}");
  file.print();
}

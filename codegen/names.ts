import type { MethodModel, ServiceModel } from "./model.js";

/** Names of the generated symbols; one place, so templates and docs agree. */
export function descriptorName(method: MethodModel): string {
  return `${method.desc.parent.name}${method.desc.name}`;
}

export function executorName(service: ServiceModel): string {
  return `${service.desc.name}Executor`;
}

export function registerName(service: ServiceModel): string {
  return `register${service.desc.name}`;
}

export function clientName(service: ServiceModel): string {
  return `${service.desc.name}Client`;
}

/** The generated file of a proto file ("kv/v1/kv.proto" → "kv/v1/kv_raftkit.ts"). */
export function generatedFileName(protoName: string, suffix: string): string {
  return `${protoName}_${suffix}.ts`;
}

export function executorTokenName(service: ServiceModel): string {
  return `${service.desc.name}ExecutorToken`;
}

export function providerFactoryName(service: ServiceModel): string {
  return `create${service.desc.name}Provider`;
}

export function bindName(service: ServiceModel): string {
  return `bind${service.desc.name}`;
}

/** The interface of a service's descriptor set: one member per rpc (`KvServiceDescriptors`). */
export function descriptorSetTypeName(service: ServiceModel): string {
  return `${service.desc.name}Descriptors`;
}

/** The generated descriptor set itself (`kvServiceDescriptors`). */
export function descriptorSetName(service: ServiceModel): string {
  return `${lowerFirst(service.desc.name)}Descriptors`;
}

/** The codec overrides a descriptor set factory takes (`KvServiceCodecOverrides`). */
export function codecOverridesTypeName(service: ServiceModel): string {
  return `${service.desc.name}CodecOverrides`;
}

/** The descriptor set factory with codec overrides (`createKvServiceDescriptors`). */
export function createDescriptorSetName(service: ServiceModel): string {
  return `create${service.desc.name}Descriptors`;
}

/** The state machine type constant (`kvServiceStateMachine`). */
export function stateMachineConstantName(service: ServiceModel): string {
  return `${lowerFirst(service.desc.name)}StateMachine`;
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

import { getOption, hasOption, ScalarType } from "@bufbuild/protobuf";
import type { DescField, DescFile, DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";
import {
  executable,
  ExecutableKind,
  partition_key,
  QueryConsistency,
  state_machine,
} from "../gen/raftkit/v1/options_pb.js";
import type { AnnotationProblem } from "./errors.js";
import { annotationError } from "./errors.js";
import type { FileModel, MethodModel, QueryConsistencyName, ServiceModel } from "./model.js";
import { locate } from "./source-location.js";

/** State machine names: lowercase letters, digits and '-', starting with a letter. */
const stateMachineNamePattern = /^[a-z][a-z0-9-]*$/;
const stateMachineNameLengthMax = 63;

/** Scalar types a partition key may have: a string key or an integer partition id. */
const partitionKeyTypes: ReadonlySet<ScalarType> = new Set([
  ScalarType.STRING,
  ScalarType.INT32, ScalarType.UINT32, ScalarType.SINT32, ScalarType.FIXED32, ScalarType.SFIXED32,
  ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64,
]);

const consistencyNames: ReadonlyMap<QueryConsistency, QueryConsistencyName> = new Map([
  [QueryConsistency.LINEARIZABLE_UNSPECIFIED, "linearizable"],
  [QueryConsistency.LEASE, "lease"],
  [QueryConsistency.STALE, "stale"],
]);

/**
 * Reads and checks the raftkit annotations of the files to generate. Throws one
 * InvalidAnnotation error listing every problem ("file:line:col: what is wrong").
 */
export function buildFileModels(files: readonly DescFile[], sourceRoot: string): FileModel[] {
  const problems: AnnotationProblem[] = [];
  const report = (desc: Parameters<typeof locate>[0], message: string, option?: number): void => {
    problems.push({ location: locate(desc, sourceRoot, option), message });
  };
  const models = files.map((file) => ({
    desc: file,
    services: file.services.flatMap((service) => serviceModel(service, report)),
  }));
  for (const file of files) {
    for (const message of allMessages(file.messages)) checkPartitionKeys(message, report);
  }
  if (problems.length > 0) throw annotationError(problems);
  return models;
}

type Report = (
  desc: DescService | DescMethod | DescField,
  message: string,
  option?: number,
) => void;

function serviceModel(service: DescService, report: Report): ServiceModel[] {
  if (!hasOption(service, state_machine)) {
    for (const method of service.methods) {
      if (hasOption(method, executable)) {
        report(method, `rpc ${method.parent.typeName}.${method.name} has (raftkit.v1.executable) ` +
          `but its service has no (raftkit.v1.state_machine) option`, executable.number);
      }
    }
    return [];
  }
  const name = getOption(service, state_machine).name;
  if (!stateMachineNamePattern.test(name) || name.length > stateMachineNameLengthMax) {
    report(service, `service ${service.typeName}: state machine name "${name}" is not allowed ` +
      `(lowercase letters, digits and '-', starting with a letter, at most ` +
      `${stateMachineNameLengthMax} characters)`, state_machine.number);
  }
  const methods = service.methods.flatMap((method) => methodModel(method, report));
  if (service.methods.length === 0) {
    report(service, `service ${service.typeName} has (raftkit.v1.state_machine) but no rpc`);
  }
  return [{ desc: service, stateMachine: name, methods }];
}

function methodModel(method: DescMethod, report: Report): MethodModel[] {
  const rpc = `rpc ${method.parent.typeName}.${method.name}`;
  const options = hasOption(method, executable) ? getOption(method, executable) : undefined;
  if (options === undefined || options.kind === ExecutableKind.UNSPECIFIED) {
    report(method, `${rpc} has no kind: add option (raftkit.v1.executable) = ` +
      `{kind: EXECUTABLE_KIND_COMMAND} or {kind: EXECUTABLE_KIND_QUERY}`, executable.number);
    return [];
  }
  const kind = options.kind === ExecutableKind.COMMAND ? "command" : "query";
  if (options.kind !== ExecutableKind.COMMAND && options.kind !== ExecutableKind.QUERY) {
    report(method, `${rpc}: kind ${String(options.kind)} is not a known ExecutableKind`,
      executable.number);
    return [];
  }
  if (method.methodKind !== "unary") {
    report(method, `${rpc} is a ${kind} declared ${method.methodKind.replaceAll("_", " ")}: ` +
      `executable messages are unary (one request, one result)`);
  }
  const consistency = consistencyNames.get(options.consistency);
  if (consistency === undefined) {
    report(method, `${rpc}: consistency ${String(options.consistency)} is not a known ` +
      `QueryConsistency`, executable.number);
  }
  if (kind === "command" && options.consistency !== QueryConsistency.LINEARIZABLE_UNSPECIFIED) {
    report(method, `${rpc} is a command: consistency is only for EXECUTABLE_KIND_QUERY ` +
      `(commands always go through the log)`, executable.number);
  }
  return [{
    desc: method,
    typeName: `${method.parent.typeName}/${method.name}`,
    kind,
    consistency: kind === "query" ? consistency : undefined,
    deadlineMs: options.deadlineMs === 0 ? undefined : options.deadlineMs,
    partitionKey: method.input.fields.find((field) => hasOption(field, partition_key) &&
      getOption(field, partition_key)),
  }];
}

function checkPartitionKeys(message: DescMessage, report: Report): void {
  const keys = message.fields.filter((field) =>
    hasOption(field, partition_key) && getOption(field, partition_key));
  for (const field of keys) {
    const scalar = field.fieldKind === "scalar" ? field.scalar : undefined;
    if (scalar === undefined || !partitionKeyTypes.has(scalar)) {
      report(field, `field ${message.typeName}.${field.name}: a partition key must be a ` +
        `singular string or integer field, found ${describeFieldType(field)}`,
        partition_key.number);
    }
  }
  for (const extra of keys.slice(1)) {
    report(extra, `field ${message.typeName}.${extra.name}: message ${message.typeName} has ` +
      `more than one partition key (${keys.map((field) => field.name).join(", ")}); ` +
      `at most one is allowed`, partition_key.number);
  }
}

function describeFieldType(field: DescField): string {
  switch (field.fieldKind) {
    case "scalar":
      return ScalarType[field.scalar].toLowerCase();
    case "enum":
      return `enum ${field.enum.typeName}`;
    case "message":
      return `message ${field.message.typeName}`;
    case "list":
      return "a repeated field";
    case "map":
      return "a map field";
  }
}

function allMessages(messages: readonly DescMessage[]): DescMessage[] {
  return messages.flatMap((message) => [message, ...allMessages(message.nestedMessages)]);
}

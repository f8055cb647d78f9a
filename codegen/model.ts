import type { DescField, DescFile, DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";

/** How fresh a query's default answer is (the option's enum, in the client's words). */
export type QueryConsistencyName = "linearizable" | "lease" | "stale";

/** One rpc of a state machine service, validated. */
export interface MethodModel {
  readonly desc: DescMethod;
  /** "package.Service/Method": the executable message's type name. */
  readonly typeName: string;
  readonly kind: "command" | "query";
  /** Queries only: the default consistency of a call. */
  readonly consistency: QueryConsistencyName | undefined;
  /** The client's default deadline of a call; undefined: the client's own default. */
  readonly deadlineMs: number | undefined;
  /** The request field marked (raftkit.v1.partition_key), if any. */
  readonly partitionKey: DescField | undefined;
}

/** A service annotated with (raftkit.v1.state_machine), validated. */
export interface ServiceModel {
  readonly desc: DescService;
  readonly stateMachine: string;
  readonly methods: readonly MethodModel[];
}

/** What one proto file contributes to the generated code. */
export interface FileModel {
  readonly desc: DescFile;
  readonly services: readonly ServiceModel[];
}

/** The TypeScript name ts-proto gives a message: nested names joined by "_". */
export function tsProtoMessageName(message: DescMessage): string {
  const packagePrefix = message.file.proto.package === "" ? "" : `${message.file.proto.package}.`;
  return message.typeName.slice(packagePrefix.length).replaceAll(".", "_");
}

/** The module ts-proto writes for a proto file, relative to the output root ("./a/b/c.js"). */
export function tsProtoModulePath(file: DescFile): string {
  return `./${file.name}.js`;
}

/** The executor and client member of an rpc: protobuf-es's safe lowerCamelCase name. */
export function methodMemberName(method: DescMethod): string {
  return method.localName;
}

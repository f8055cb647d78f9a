/**
 * The meta state machine's executable messages (issue #9): commands change
 * the node registry and the partition table, queries read them. Messages
 * are protobuf-es (proto/raftkit/v1/cluster.proto), like every framework
 * wire type.
 */
import {
  AdoptPartitionRequestSchema,
  AdoptPartitionResponseSchema,
  CreatePartitionRequestSchema,
  CreatePartitionResponseSchema,
  DeletePartitionRequestSchema,
  DeletePartitionResponseSchema,
  ListNodesRequestSchema,
  ListNodesResponseSchema,
  ListPartitionsRequestSchema,
  ListPartitionsResponseSchema,
  PartitionForKeyRequestSchema,
  PartitionForKeyResponseSchema,
  RegisterNodeRequestSchema,
  RegisterNodeResponseSchema,
  SetNodeStateRequestSchema,
  SetNodeStateResponseSchema,
  UpdatePartitionRequestSchema,
  UpdatePartitionResponseSchema,
} from "../../gen/raftkit/v1/cluster_pb.js";
import { ExecutableKind, defineExecutableMessage } from "../statemachine/index.js";
import { protobufEsCodec } from "../statemachine/index.js";

/** The meta group's state machine type name. */
export const metaStateMachineType = "raftkit.meta";

const service = "raftkit.v1.MetaService";

export const RegisterNode = defineExecutableMessage({
  typeName: `${service}/RegisterNode`,
  kind: ExecutableKind.Command,
  request: protobufEsCodec(RegisterNodeRequestSchema),
  response: protobufEsCodec(RegisterNodeResponseSchema),
  stateMachine: metaStateMachineType,
});

export const SetNodeState = defineExecutableMessage({
  typeName: `${service}/SetNodeState`,
  kind: ExecutableKind.Command,
  request: protobufEsCodec(SetNodeStateRequestSchema),
  response: protobufEsCodec(SetNodeStateResponseSchema),
  stateMachine: metaStateMachineType,
});

export const CreatePartition = defineExecutableMessage({
  typeName: `${service}/CreatePartition`,
  kind: ExecutableKind.Command,
  request: protobufEsCodec(CreatePartitionRequestSchema),
  response: protobufEsCodec(CreatePartitionResponseSchema),
  stateMachine: metaStateMachineType,
});

/** Registers a running (static) partition under its own id; see meta-adoption.ts. */
export const AdoptPartition = defineExecutableMessage({
  typeName: `${service}/AdoptPartition`,
  kind: ExecutableKind.Command,
  request: protobufEsCodec(AdoptPartitionRequestSchema),
  response: protobufEsCodec(AdoptPartitionResponseSchema),
  stateMachine: metaStateMachineType,
});

export const DeletePartition = defineExecutableMessage({
  typeName: `${service}/DeletePartition`,
  kind: ExecutableKind.Command,
  request: protobufEsCodec(DeletePartitionRequestSchema),
  response: protobufEsCodec(DeletePartitionResponseSchema),
  stateMachine: metaStateMachineType,
});

export const UpdatePartition = defineExecutableMessage({
  typeName: `${service}/UpdatePartition`,
  kind: ExecutableKind.Command,
  request: protobufEsCodec(UpdatePartitionRequestSchema),
  response: protobufEsCodec(UpdatePartitionResponseSchema),
  stateMachine: metaStateMachineType,
});

export const ListNodes = defineExecutableMessage({
  typeName: `${service}/ListNodes`,
  kind: ExecutableKind.Query,
  request: protobufEsCodec(ListNodesRequestSchema),
  response: protobufEsCodec(ListNodesResponseSchema),
  stateMachine: metaStateMachineType,
});

export const ListPartitions = defineExecutableMessage({
  typeName: `${service}/ListPartitions`,
  kind: ExecutableKind.Query,
  request: protobufEsCodec(ListPartitionsRequestSchema),
  response: protobufEsCodec(ListPartitionsResponseSchema),
  stateMachine: metaStateMachineType,
});

export const PartitionForKey = defineExecutableMessage({
  typeName: `${service}/PartitionForKey`,
  kind: ExecutableKind.Query,
  request: protobufEsCodec(PartitionForKeyRequestSchema),
  response: protobufEsCodec(PartitionForKeyResponseSchema),
  stateMachine: metaStateMachineType,
});

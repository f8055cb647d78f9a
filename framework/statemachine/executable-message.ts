/**
 * The descriptor of one executable message: one rpc of an annotated service.
 * Codegen emits one per rpc (`raftkit generate`, issue #6); hand-written
 * state machines write them directly. Plain data: a name, a kind and two
 * codecs.
 */
export enum ExecutableKind {
  /** Goes through the raft log; may change the state. */
  Command = "command",
  /** Read-only; answered from a replica's state, never enters the log. */
  Query = "query",
}

/**
 * Encodes and decodes one message type. `decode` throws on bytes that are
 * not a valid message (the dispatcher turns that into INVALID_PAYLOAD).
 * The JSON pair is optional: it serves callers without generated code
 * (gateway JSON payloads); without it those callers get UNIMPLEMENTED.
 */
export interface MessageCodec<Message> {
  encode(message: Message): Uint8Array;
  /**
   * Optional, for large commands: the bytes of `encode` written after
   * `room(length)` free bytes at the start of one buffer (`length`: the
   * encoded size; the buffer: room + length bytes). buildCommand writes the
   * log entry's envelope header into that room, so the command is encoded
   * once, in place, instead of encoded and then copied into its envelope.
   * `room` may throw (a payload over the limit): nothing is allocated then.
   */
  encodeAfter?(message: Message, room: (length: number) => number): Uint8Array;
  decode(bytes: Uint8Array): Message;
  fromJson?(json: unknown): Message;
  toJson?(message: Message): unknown;
}

export interface ExecutableMessage<Request, Response> {
  /** The rpc's full name, "package.Service/Method"; unique within a registry. */
  readonly typeName: string;
  readonly kind: ExecutableKind;
  readonly request: MessageCodec<Request>;
  readonly response: MessageCodec<Response>;
  /**
   * The state machine type this message belongs to (the name its nodes
   * register, e.g. "counter"). Clients route a string partition key through
   * that type's partition table; codegen fills it from the service's
   * state_machine option. Optional: without it only partition ids work.
   */
  readonly stateMachine?: string;
}

const identifier = "[A-Za-z_][A-Za-z0-9_]*";
const typeNamePattern = new RegExp(`^${identifier}(\\.${identifier})*/${identifier}$`);

/** Checks a descriptor at definition time; returns it unchanged. */
export function defineExecutableMessage<Request, Response>(
  descriptor: ExecutableMessage<Request, Response>,
): ExecutableMessage<Request, Response> {
  if (!typeNamePattern.test(descriptor.typeName)) {
    throw new TypeError(
      `executable message type name "${descriptor.typeName}": expected "package.Service/Method"`,
    );
  }
  if (descriptor.kind !== ExecutableKind.Command && descriptor.kind !== ExecutableKind.Query) {
    throw new TypeError(
      `executable message ${descriptor.typeName}: kind "${String(descriptor.kind)}", ` +
        `allowed "command" or "query"`,
    );
  }
  const stateMachine = descriptor.stateMachine;
  if (stateMachine !== undefined && !(typeof stateMachine === "string" && stateMachine.trim() !== "")) {
    throw new TypeError(
      `executable message ${descriptor.typeName}: stateMachine ${JSON.stringify(stateMachine)}, ` +
        `allowed a non-empty state machine type name or no field`,
    );
  }
  return descriptor;
}

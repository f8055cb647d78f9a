import type { ApplyContext, QueryContext } from "./apply-context.js";
import { StateMachineError, StateMachineErrorCode } from "./errors.js";
import { ExecutableKind, defineExecutableMessage } from "./executable-message.js";
import type { ExecutableMessage } from "./executable-message.js";

/** Runs one command against the state. Throws StateMachineError for expected failures. */
export type CommandExecutor<Request, Response> = (
  request: Request,
  context: ApplyContext,
) => Response | Promise<Response>;

/** Answers one query from the state, without changing it. */
export type QueryExecutor<Request, Response> = (
  request: Request,
  context: QueryContext,
) => Response | Promise<Response>;

/**
 * An executor bound to its descriptor's codecs: bytes in, bytes out. The
 * message types are closed over here, so the dispatcher handles every
 * registration alike without knowing them.
 */
export interface RegisteredExecutable {
  readonly typeName: string;
  readonly kind: ExecutableKind;
  /** Commands only. Throws StateMachineError (INVALID_PAYLOAD, or the executor's own). */
  runCommand(payload: Uint8Array, context: ApplyContext): Promise<Uint8Array>;
  /** Queries only. Throws StateMachineError (INVALID_PAYLOAD, or the executor's own). */
  runQuery(payload: Uint8Array, context: QueryContext): Promise<Uint8Array>;
  /** Request JSON → request bytes, for callers without generated code. */
  requestFromJson(json: unknown): Uint8Array;
  /** Response bytes → response JSON, for callers without generated code. */
  responseToJson(bytes: Uint8Array): unknown;
}

export interface ExecutorRegistry {
  /** Throws ALREADY_EXISTS for a type registered before, TypeError for a query descriptor. */
  registerCommand<Request, Response>(
    descriptor: ExecutableMessage<Request, Response>,
    executor: CommandExecutor<Request, Response>,
  ): void;
  /** Throws ALREADY_EXISTS for a type registered before, TypeError for a command descriptor. */
  registerQuery<Request, Response>(
    descriptor: ExecutableMessage<Request, Response>,
    executor: QueryExecutor<Request, Response>,
  ): void;
  lookup(typeName: string): RegisteredExecutable | undefined;
  /** Like lookup, but throws UNKNOWN_TYPE naming the type and what is registered. */
  get(typeName: string): RegisteredExecutable;
  /** Registered type names, sorted. */
  typeNames(): readonly string[];
}

/**
 * Creates an empty registry. Every replica of a partition must register the
 * same executors: what an envelope does must not depend on the replica.
 */
export function createExecutorRegistry(): ExecutorRegistry {
  const registrations = new Map<string, RegisteredExecutable>();
  const add = (registration: RegisteredExecutable): void => {
    if (registrations.has(registration.typeName)) {
      throw new StateMachineError(
        StateMachineErrorCode.AlreadyExists,
        `an executor for ${registration.typeName} is already registered`,
      );
    }
    registrations.set(registration.typeName, registration);
  };
  return {
    registerCommand(descriptor, executor) {
      assertKind(descriptor, ExecutableKind.Command);
      add(bindExecutor(descriptor, executor, undefined));
    },
    registerQuery(descriptor, executor) {
      assertKind(descriptor, ExecutableKind.Query);
      add(bindExecutor(descriptor, undefined, executor));
    },
    lookup: (typeName) => registrations.get(typeName),
    get(typeName) {
      const registration = registrations.get(typeName);
      if (registration !== undefined) return registration;
      throw new StateMachineError(
        StateMachineErrorCode.UnknownType,
        `no executor for message type "${typeName}" (registered: ${describeTypes(registrations)})`,
      );
    },
    typeNames: () => [...registrations.keys()].sort(),
  };
}

function assertKind<Request, Response>(
  descriptor: ExecutableMessage<Request, Response>,
  expected: ExecutableKind,
): void {
  defineExecutableMessage(descriptor);
  if (descriptor.kind !== expected) {
    throw new TypeError(
      `${descriptor.typeName} is a ${descriptor.kind}; register it with ` +
        `register${descriptor.kind === ExecutableKind.Command ? "Command" : "Query"}`,
    );
  }
}

function bindExecutor<Request, Response>(
  descriptor: ExecutableMessage<Request, Response>,
  commandExecutor: CommandExecutor<Request, Response> | undefined,
  queryExecutor: QueryExecutor<Request, Response> | undefined,
): RegisteredExecutable {
  const { typeName, kind } = descriptor;
  const decode = (payload: Uint8Array): Request => decodeRequest(descriptor, payload);
  return {
    typeName,
    kind,
    async runCommand(payload, context) {
      if (commandExecutor === undefined) throw wrongKind(typeName, kind);
      const response = await commandExecutor(decode(payload), context);
      return descriptor.response.encode(response);
    },
    async runQuery(payload, context) {
      if (queryExecutor === undefined) throw wrongKind(typeName, kind);
      const response = await queryExecutor(decode(payload), context);
      return descriptor.response.encode(response);
    },
    requestFromJson: (json) => descriptor.request.encode(requestFromJson(descriptor, json)),
    responseToJson: (bytes) => responseToJson(descriptor, bytes),
  };
}

function decodeRequest<Request, Response>(
  descriptor: ExecutableMessage<Request, Response>,
  payload: Uint8Array,
): Request {
  try {
    return descriptor.request.decode(payload);
  } catch (reason) {
    // Only the decoder's failure is caught here: the bytes are not a request.
    throw new StateMachineError(
      StateMachineErrorCode.InvalidPayload,
      `payload of ${descriptor.typeName} (${payload.length} bytes) ` +
        `does not decode: ${messageOf(reason)}`,
      { cause: reason },
    );
  }
}

function requestFromJson<Request, Response>(
  descriptor: ExecutableMessage<Request, Response>,
  json: unknown,
): Request {
  const codec = descriptor.request;
  if (codec.fromJson === undefined) throw noJson(descriptor.typeName, "request");
  try {
    return codec.fromJson(json);
  } catch (reason) {
    throw new StateMachineError(
      StateMachineErrorCode.InvalidPayload,
      `JSON request of ${descriptor.typeName} does not convert: ${messageOf(reason)}`,
      { cause: reason },
    );
  }
}

function responseToJson<Request, Response>(
  descriptor: ExecutableMessage<Request, Response>,
  bytes: Uint8Array,
): unknown {
  const codec = descriptor.response;
  if (codec.toJson === undefined) throw noJson(descriptor.typeName, "response");
  return codec.toJson(codec.decode(bytes));
}

function noJson(typeName: string, role: string): StateMachineError {
  return new StateMachineError(
    StateMachineErrorCode.Unimplemented,
    `${typeName}: the ${role} codec has no JSON conversion`,
  );
}

function wrongKind(typeName: string, kind: ExecutableKind): StateMachineError {
  const sentAs = kind === ExecutableKind.Command ? "query" : "command";
  return new StateMachineError(
    StateMachineErrorCode.WrongKind,
    `${typeName} is a ${kind}, sent as a ${sentAs}`,
  );
}

function describeTypes(registrations: ReadonlyMap<string, RegisteredExecutable>): string {
  if (registrations.size === 0) return "none";
  const names = [...registrations.keys()].sort();
  const shown = names.slice(0, 8).join(", ");
  return names.length > 8 ? `${shown}, ... ${names.length - 8} more` : shown;
}

function messageOf(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

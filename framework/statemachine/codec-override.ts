import type { ExecutableMessage, MessageCodec } from "./executable-message.js";
import { defineExecutableMessage } from "./executable-message.js";

/**
 * Codecs to use for one executable message instead of its generated ones,
 * e.g. a hand-written codec of a hot request. They must be wire compatible
 * (same protobuf bytes, same message objects): replicas, clients and the
 * gateway may run either. A missing JSON pair keeps the generated one.
 */
export interface CodecOverride<Request, Response> {
  readonly request?: MessageCodec<Request>;
  readonly response?: MessageCodec<Response>;
}

/**
 * Per member of a generated descriptor set (`<Service>Descriptors`), an
 * optional override of its codecs: what `create<Service>Descriptors` takes.
 */
export type CodecOverrides<Descriptors> = {
  readonly [Member in keyof Descriptors]?: Descriptors[Member] extends
    ExecutableMessage<infer Request, infer Response> ? CodecOverride<Request, Response> : never;
};

/**
 * The descriptor with `override`'s codecs (same typeName, kind and state
 * machine); the descriptor itself when there is nothing to override.
 */
export function withCodecs<Request, Response>(
  descriptor: ExecutableMessage<Request, Response>,
  override: CodecOverride<Request, Response> | undefined,
): ExecutableMessage<Request, Response> {
  if (override === undefined) return descriptor;
  if (override.request === undefined && override.response === undefined) return descriptor;
  return defineExecutableMessage({
    ...descriptor,
    request: mergeCodec(descriptor.typeName, "request", descriptor.request, override.request),
    response: mergeCodec(descriptor.typeName, "response", descriptor.response, override.response),
  });
}

function mergeCodec<Message>(
  typeName: string,
  side: "request" | "response",
  generated: MessageCodec<Message>,
  replacement: MessageCodec<Message> | undefined,
): MessageCodec<Message> {
  if (replacement === undefined) return generated;
  // Checked at run time too: overrides often come from plain JavaScript or configuration.
  if (typeof replacement.encode !== "function" || typeof replacement.decode !== "function") {
    throw new TypeError(`codec override of ${typeName} ${side}: encode and decode ` +
      `must be functions`);
  }
  if (replacement.fromJson !== undefined && replacement.toJson !== undefined) return replacement;
  const merged: MessageCodec<Message> = {
    encode: replacement.encode.bind(replacement),
    decode: replacement.decode.bind(replacement),
  };
  if (generated.fromJson !== undefined && generated.toJson !== undefined) {
    merged.fromJson = generated.fromJson.bind(generated);
    merged.toJson = generated.toJson.bind(generated);
  }
  return merged;
}

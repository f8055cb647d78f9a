import type { ExecutableMessage, MessageCodec } from "./executable-message.js";
import { defineExecutableMessage } from "./executable-message.js";

/**
 * Codecs to use for one executable message instead of its generated ones,
 * e.g. a hand-written codec of a hot request. Wire compatible with the
 * .proto (replicas, clients and the gateway may run either), but free to
 * decode into another in-memory form (a columnar command instead of the
 * generated message): the descriptor's type follows the codec. A codec
 * without fromJson/toJson leaves the message without JSON (the gateway's
 * typed form answers UNIMPLEMENTED for it): JSON is tied to the in-memory
 * form, so the generated JSON pair is not borrowed.
 */
export interface CodecOverride<Request = unknown, Response = unknown> {
  readonly request?: MessageCodec<Request>;
  readonly response?: MessageCodec<Response>;
}

/** Per member of a descriptor set (`<Service>Descriptors`), an optional override. */
export type CodecOverrides<Descriptors> = {
  readonly [Member in keyof Descriptors]?: CodecOverride;
};

type Decoded<Codec> = Codec extends { decode(bytes: Uint8Array): infer Message } ? Message : never;
type RequestOf<Descriptor> = Descriptor extends { readonly request: infer Codec }
  ? Decoded<Codec> : never;
type ResponseOf<Descriptor> = Descriptor extends { readonly response: infer Codec }
  ? Decoded<Codec> : never;

/** A descriptor's type once `Override` is applied: each side typed by its codec. */
export type WithCodecs<Descriptor, Override> = ExecutableMessage<
  Override extends { readonly request: infer Codec } ? Decoded<Codec> : RequestOf<Descriptor>,
  Override extends { readonly response: infer Codec } ? Decoded<Codec> : ResponseOf<Descriptor>
>;

/** A descriptor set's type once `Overrides` are applied member by member. */
export type DescriptorsWithCodecs<Descriptors, Overrides> = {
  readonly [Member in keyof Descriptors]: Member extends keyof Overrides
    ? WithCodecs<Descriptors[Member], Overrides[Member]>
    : Descriptors[Member];
};

/**
 * The descriptor with `override`'s codecs (same typeName, kind and state
 * machine); the descriptor itself when there is nothing to override.
 */
export function withCodecs<Request, Response>(
  descriptor: ExecutableMessage<Request, Response>,
  override?: Record<never, never>,
): ExecutableMessage<Request, Response>;
export function withCodecs<Request, Response, NewRequest>(
  descriptor: ExecutableMessage<Request, Response>,
  override: { readonly request: MessageCodec<NewRequest> },
): ExecutableMessage<NewRequest, Response>;
export function withCodecs<Request, Response, NewResponse>(
  descriptor: ExecutableMessage<Request, Response>,
  override: { readonly response: MessageCodec<NewResponse> },
): ExecutableMessage<Request, NewResponse>;
export function withCodecs<Request, Response, NewRequest, NewResponse>(
  descriptor: ExecutableMessage<Request, Response>,
  override: {
    readonly request: MessageCodec<NewRequest>;
    readonly response: MessageCodec<NewResponse>;
  },
): ExecutableMessage<NewRequest, NewResponse>;
export function withCodecs(
  descriptor: ExecutableMessage<unknown, unknown>,
  override?: CodecOverride,
): ExecutableMessage<unknown, unknown> {
  if (override === undefined) return descriptor;
  if (override.request === undefined && override.response === undefined) return descriptor;
  checkCodec(descriptor.typeName, "request", override.request);
  checkCodec(descriptor.typeName, "response", override.response);
  return defineExecutableMessage({
    ...descriptor,
    request: override.request ?? descriptor.request,
    response: override.response ?? descriptor.response,
  });
}

/**
 * `descriptors` (a generated `<service>Descriptors`) with `overrides` applied
 * member by member; what a generated `create<Service>Descriptors` returns.
 * A member `overrides` names that the set does not have is refused.
 */
export function withCodecOverrides<
  Descriptors extends {
    readonly [Member in keyof Descriptors]: ExecutableMessage<unknown, unknown>;
  },
  Overrides extends CodecOverrides<Descriptors>,
>(
  descriptors: Descriptors,
  overrides: Overrides | undefined,
): DescriptorsWithCodecs<Descriptors, Overrides> {
  const source = new Map<string, ExecutableMessage<unknown, unknown>>();
  for (const member of memberNames(descriptors)) source.set(member, descriptors[member]);
  const given = new Map<string, CodecOverride | undefined>(Object.entries(overrides ?? {}));
  for (const [member, override] of given) {
    if (!source.has(member)) {
      throw new TypeError(`codec override for "${member}": no such rpc in this descriptor set ` +
        `(members: ${[...source.keys()].join(", ")})`);
    }
    if (override !== undefined && (typeof override !== "object" || override === null)) {
      throw new TypeError(`codec override for "${member}": expected { request?, response? }, ` +
        `found ${override === null ? "null" : typeof override}`);
    }
  }
  const result: Record<string, ExecutableMessage<unknown, unknown>> = {};
  for (const [member, descriptor] of source) {
    result[member] = withCodecs(descriptor, given.get(member));
  }
  // A mapped conditional type cannot be built by a loop; each member above is
  // made by withCodecs, whose overloads state the same rule as the type.
  return result as DescriptorsWithCodecs<Descriptors, Overrides>;
}

/** The own string keys of a descriptor set, typed as its members. */
function memberNames<Descriptors extends object>(
  descriptors: Descriptors,
): (keyof Descriptors & string)[] {
  return Object.keys(descriptors).filter((key): key is keyof Descriptors & string =>
    Object.hasOwn(descriptors, key));
}

function checkCodec(
  typeName: string,
  side: string,
  codec: MessageCodec<unknown> | undefined,
): void {
  if (codec === undefined) return;
  // Checked at run time too: overrides often come from plain JavaScript or configuration.
  if (typeof codec.encode !== "function" || typeof codec.decode !== "function") {
    throw new TypeError(`codec override of ${typeName} ${side}: encode and decode must be ` +
      `functions`);
  }
  if ((codec.fromJson === undefined) !== (codec.toJson === undefined)) {
    throw new TypeError(`codec override of ${typeName} ${side}: give both fromJson and toJson ` +
      `or neither`);
  }
}

import type { MessageCodec } from "./executable-message.js";

/**
 * The static members ts-proto 2 generates for every message (its
 * `MessageFns<T>`), as far as a codec needs them. Structural: any object of
 * this shape works, generated or not.
 */
export interface TsProtoMessageFns<Message> {
  encode(message: Message): { finish(): Uint8Array };
  decode(input: Uint8Array): Message;
  // ts-proto types fromJSON's argument as `any`; `unknown` is what arrives here.
  fromJSON?(object: unknown): Message;
  toJSON?(message: Message): unknown;
}

/** Adapts a ts-proto generated message to a MessageCodec (what codegen emits per message). */
export function tsProtoCodec<Message>(fns: TsProtoMessageFns<Message>): MessageCodec<Message> {
  const codec: MessageCodec<Message> = {
    encode: (message) => fns.encode(message).finish(),
    decode: (bytes) => fns.decode(bytes),
  };
  const fromJson = fns.fromJSON?.bind(fns);
  const toJson = fns.toJSON?.bind(fns);
  if (fromJson !== undefined && toJson !== undefined) {
    codec.fromJson = fromJson;
    codec.toJson = toJson;
  }
  return codec;
}

import { describe, expect, it } from "vitest";
import {
  ExecutableKind,
  StateMachineErrorCode,
  createExecutorRegistry,
  defineExecutableMessage,
  isStateMachineError,
  tsProtoCodec,
} from "../../../framework/statemachine/index.js";
import { NameRequest, PreviousValue, StampRequest } from "./counter-kv-messages.js";
import { Add, GetCounter, Put, Stamp } from "./counter-kv-state-machine.js";

describe("executor registry", () => {
  it("looks up registered executors and lists them sorted", () => {
    const registry = createExecutorRegistry();
    registry.registerCommand(Put, () => ({ found: false, value: "" }));
    registry.registerQuery(GetCounter, () => ({ value: 1 }));
    expect(registry.typeNames()).toEqual([GetCounter.typeName, Put.typeName]);
    expect(registry.lookup(Put.typeName)?.kind).toBe(ExecutableKind.Command);
    expect(registry.lookup(GetCounter.typeName)?.kind).toBe(ExecutableKind.Query);
    expect(registry.lookup("x.v1.S/M")).toBeUndefined();
  });

  it("refuses a duplicate type with already_exists naming it", () => {
    const registry = createExecutorRegistry();
    registry.registerCommand(Add, () => ({ value: 0 }));
    let thrown: unknown;
    try {
      registry.registerCommand(Add, () => ({ value: 1 }));
    } catch (reason) {
      thrown = reason;
    }
    expect(isStateMachineError(thrown, StateMachineErrorCode.AlreadyExists)).toBe(true);
    expect(String(thrown)).toContain(`an executor for ${Add.typeName} is already registered`);
  });

  it("names the unknown type and what is registered", () => {
    const registry = createExecutorRegistry();
    expect(() => registry.get("a.v1.S/M")).toThrowError(
      /unknown_type.*"a\.v1\.S\/M" \(registered: none\)/,
    );
    registry.registerCommand(Add, () => ({ value: 0 }));
    expect(() => registry.get("a.v1.S/M")).toThrowError(`(registered: ${Add.typeName})`);
  });

  it("refuses a descriptor registered as the other kind, or with a malformed name", () => {
    const registry = createExecutorRegistry();
    expect(() => registry.registerQuery(Add, () => ({ value: 0 }))).toThrowError(
      `${Add.typeName} is a command; register it with registerCommand`,
    );
    expect(() => registry.registerCommand(GetCounter, () => ({ value: 0 }))).toThrowError(
      "register it with registerQuery",
    );
    expect(() =>
      defineExecutableMessage({ ...Put, typeName: "no-slash" }),
    ).toThrowError(`executable message type name "no-slash": expected "package.Service/Method"`);
  });

  it("converts JSON for callers without generated code, and says when a codec has none", () => {
    const registry = createExecutorRegistry();
    registry.registerCommand(Put, () => ({ found: true, value: "old" }));
    registry.registerCommand(Stamp, () => ({ timestampMs: 0, index: 0, position: 0, randoms: [] }));
    const put = registry.get(Put.typeName);
    const bytes = put.requestFromJson({ key: "k", value: "v" });
    expect(Put.request.decode(bytes)).toEqual({ key: "k", value: "v" });
    expect(put.responseToJson(Put.response.encode({ found: true, value: "old" }))).toEqual({
      found: true,
      value: "old",
    });
    expect(() => put.requestFromJson({ key: 3 })).toThrowError(
      /invalid_payload.*JSON request of kv\.v1\.KvService\/Put does not convert: PutRequest: key/,
    );
    expect(() => registry.get(Stamp.typeName).requestFromJson({})).toThrowError(
      /unimplemented.*the request codec has no JSON conversion/,
    );
  });

  it("adapts ts-proto message functions, with JSON only when both directions exist", () => {
    const codec = tsProtoCodec(PreviousValue);
    const message = { found: true, value: "x" };
    expect(codec.decode(codec.encode(message))).toEqual(message);
    expect(codec.fromJson?.({ found: true, value: "x" })).toEqual({ found: true, value: "x" });
    expect(tsProtoCodec(StampRequest).fromJson).toBeUndefined();
    const descriptor = defineExecutableMessage({
      typeName: "t.v1.S/M",
      kind: ExecutableKind.Query,
      request: tsProtoCodec(NameRequest),
      response: codec,
    });
    expect(descriptor.kind).toBe(ExecutableKind.Query);
  });
});

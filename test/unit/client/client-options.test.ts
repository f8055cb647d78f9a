import { describe, expect, it } from "vitest";
import { backoffDelayMs, ClientErrorCode, createRaftkitClient, isClientError } from "../../../framework/client/index.js";
import { ExecutableKind, defineExecutableMessage, tsProtoCodec } from "../../../framework/statemachine/index.js";
import { NameRequest } from "../statemachine/counter-kv-messages.js";

const Get = defineExecutableMessage({
  typeName: "t.v1.S/Get", kind: ExecutableKind.Query, request: tsProtoCodec(NameRequest), response: tsProtoCodec(NameRequest),
});
const Keyed = { ...Get, stateMachine: "things" };

describe("client options and routing", () => {
  it("refuses bad options, naming the option", () => {
    expect(() => createRaftkitClient({ nodes: [] })).toThrow(/nodes is empty/);
    expect(() => createRaftkitClient({ nodes: ["ftp://x:1"] })).toThrow(/protocol ftp:, allowed http: or https:/);
    expect(() => createRaftkitClient({ nodes: ["not a url"] })).toThrow(/node URL "not a url": not a URL/);
    expect(() => createRaftkitClient({ nodes: ["http://a:1"], defaultDeadlineMs: 0 })).toThrow(/defaultDeadlineMs = 0/);
    expect(() => createRaftkitClient({ nodes: ["http://a:1"], backoff: { initialMs: 50, maxMs: 10 } })).toThrow(/backoff.maxMs = 10/);
  });

  it("refuses partitions and keys it cannot route, before sending anything", async () => {
    const client = createRaftkitClient({ nodes: ["http://127.0.0.1:1"] });
    const errorOf = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);
    const zero = await errorOf(client.query(Get, 0, { name: "" }));
    expect(isClientError(zero, ClientErrorCode.InvalidArgument) && zero.rawMessage).toMatch(/partition 0, allowed an integer ≥ 1/);
    const noType = await errorOf(client.query(Get, "key", { name: "" }));
    expect(String(noType)).toMatch(/has no stateMachine type: key "key" cannot be routed/);
    const noTable = await errorOf(client.query(Keyed, "key", { name: "" }));
    expect(String(noTable)).toMatch(/no partition table/);
    const wrongKind = await errorOf(client.command(Get, 1, { name: "" }));
    expect(isClientError(wrongKind, ClientErrorCode.InvalidArgument) && wrongKind.rawMessage).toMatch(/is a query, built as a command/);
    await client.close();
  });

  it("routes keys through partitionForKey with the message's state machine type", async () => {
    const asked: string[] = [];
    const client = createRaftkitClient({
      nodes: ["http://127.0.0.1:1"],
      partitionForKey: (type, key) => { asked.push(`${type}/${key}`); throw new Error("table offline"); },
    });
    const error = await client.query(Keyed, "k1", { name: "" }).catch((reason: unknown) => reason);
    expect(isClientError(error, ClientErrorCode.PartitionNotFound)).toBe(true);
    expect(String(error)).toMatch(/no partition of "things" for key "k1": table offline/);
    expect(asked).toEqual(["things/k1"]);
    await client.close();
  });

  it("backoff: equal jitter within [step/2, step], capped", () => {
    const policy = { initialMs: 10, maxMs: 100 };
    expect(backoffDelayMs(0, policy, 0)).toBe(5);
    expect(backoffDelayMs(0, policy, 0.999)).toBe(10);
    expect(backoffDelayMs(3, policy, 0)).toBe(40);
    expect(backoffDelayMs(20, policy, 0.5)).toBe(75);
    expect(() => backoffDelayMs(-1, policy, 0)).toThrow(/attempt -1/);
    expect(() => backoffDelayMs(0, policy, 1)).toThrow(/draw 1/);
  });
});

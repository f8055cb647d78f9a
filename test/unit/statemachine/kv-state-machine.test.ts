import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  createKvStateMachine,
  decodeKvRequest,
  decodeKvResult,
  encodeKvRequest,
  KvOp,
} from "../../../framework/statemachine/index.js";
import type { KvRequest, KvStateMachine } from "../../../framework/statemachine/index.js";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (value: Uint8Array): string => new TextDecoder().decode(value);

async function apply(machine: KvStateMachine, index: number, request: KvRequest): Promise<Uint8Array> {
  const [result] = await machine.apply([{ index, term: 1, data: encodeKvRequest(request) }]);
  return result!;
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

async function* replay(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

const requestArbitrary: fc.Arbitrary<KvRequest> = fc.oneof(
  fc.record({ op: fc.constant(KvOp.Put as const), key: fc.uint8Array({ maxLength: 6 }), value: fc.uint8Array({ maxLength: 20 }) }),
  fc.record({ op: fc.constant(KvOp.Delete as const), key: fc.uint8Array({ maxLength: 6 }) }),
);

describe("built-in kv state machine", () => {
  it("puts, deletes and gets; results are the previous value", async () => {
    const machine = createKvStateMachine();
    expect(decodeKvResult(await apply(machine, 1, { op: KvOp.Put, key: bytes("a"), value: bytes("1") }))).toEqual({
      status: "absent",
    });
    const second = decodeKvResult(await apply(machine, 2, { op: KvOp.Put, key: bytes("a"), value: bytes("2") }));
    expect(second.status === "present" && text(second.value)).toBe("1");
    const got = decodeKvResult(await machine.query(encodeKvRequest({ op: KvOp.Get, key: bytes("a") })));
    expect(got.status === "present" && text(got.value)).toBe("2");
    const deleted = decodeKvResult(await apply(machine, 3, { op: KvOp.Delete, key: bytes("a") }));
    expect(deleted.status === "present" && text(deleted.value)).toBe("2");
    expect(decodeKvResult(await machine.query(encodeKvRequest({ op: KvOp.Get, key: bytes("a") })))).toEqual({
      status: "absent",
    });
    expect(machine.size()).toBe(0);
    expect(machine.appliedIndex()).toBe(3);
  });

  it("keeps every byte value of keys and values (0x00-0xff) through put, get, overwrite, snapshot and restore", async () => {
    const everyByte = Uint8Array.from({ length: 256 }, (_, at) => at);
    const reversed = everyByte.slice().reverse();
    const key = Uint8Array.of(0, 0x80, 0xff, 0x7f);
    const machine = createKvStateMachine();
    // The command's bytes are a view into a larger buffer, as when the host unpacks an entry.
    const frame = new Uint8Array(1024).fill(0xaa);
    const command = encodeKvRequest({ op: KvOp.Put, key, value: everyByte });
    frame.set(command, 100);
    await machine.apply([{ index: 1, term: 1, data: frame.subarray(100, 100 + command.byteLength) }]);
    frame.fill(0x55); // the machine must have copied the value
    const got = decodeKvResult(await machine.query(encodeKvRequest({ op: KvOp.Get, key })));
    expect(got).toEqual({ status: "present", value: everyByte });
    const overwritten = decodeKvResult(await apply(machine, 2, { op: KvOp.Put, key, value: reversed }));
    expect(overwritten).toEqual({ status: "present", value: everyByte });
    const restored = createKvStateMachine();
    await restored.restoreSnapshot(2, replay(await collect(machine.saveSnapshot())));
    expect(restored.digest()).toEqual(machine.digest());
    expect(decodeKvResult(await restored.query(encodeKvRequest({ op: KvOp.Get, key })))).toEqual({ status: "present", value: reversed });
    const deleted = decodeKvResult(await apply(restored, 3, { op: KvOp.Delete, key }));
    expect(deleted).toEqual({ status: "present", value: reversed });
    expect(restored.digest()).not.toEqual(machine.digest());
  });

  it("answers malformed commands and queries with an error result naming the problem", async () => {
    const machine = createKvStateMachine();
    const [short, badOp, longKey] = await machine.apply([
      { index: 1, term: 1, data: new Uint8Array([1, 0]) },
      { index: 2, term: 1, data: new Uint8Array([9, 0, 0, 0, 0]) },
      { index: 3, term: 1, data: new Uint8Array([1, 0, 0, 0, 9, 65]) },
    ]);
    expect(decodeKvResult(short!)).toEqual({ status: "error", message: expect.stringMatching(/2 bytes, allowed ≥ 5/) });
    expect(decodeKvResult(badOp!)).toEqual({ status: "error", message: expect.stringMatching(/op 9/) });
    expect(decodeKvResult(longKey!)).toEqual({ status: "error", message: expect.stringMatching(/key length 9/) });
    const asQuery = decodeKvResult(await machine.query(encodeKvRequest({ op: KvOp.Put, key: bytes("k"), value: bytes("v") })));
    expect(asQuery).toEqual({ status: "error", message: expect.stringMatching(/is a command/) });
    expect(machine.appliedIndex()).toBe(3);
  });

  it("refuses to apply an index twice", async () => {
    const machine = createKvStateMachine();
    await apply(machine, 5, { op: KvOp.Put, key: bytes("a"), value: bytes("1") });
    await expect(apply(machine, 5, { op: KvOp.Put, key: bytes("a"), value: bytes("1") })).rejects.toThrow(
      /index 5, allowed > applied index 5/,
    );
  });

  it("round-trips requests", () => {
    fc.assert(
      fc.property(requestArbitrary, (request) => {
        expect(decodeKvRequest(encodeKvRequest(request))).toEqual(request);
      }),
    );
  });

  it("is deterministic and its snapshot restores the same state (digest), in chunks", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(requestArbitrary, { maxLength: 60 }), async (requests) => {
        const a = createKvStateMachine();
        const b = createKvStateMachine();
        const commands = requests.map((request, i) => ({ index: i + 1, term: 1, data: encodeKvRequest(request) }));
        expect(await a.apply(commands)).toEqual(await b.apply(commands));
        expect(a.digest()).toEqual(b.digest());
        const restored = createKvStateMachine();
        await restored.restoreSnapshot(requests.length, replay(await collect(a.saveSnapshot())));
        expect(restored.digest()).toEqual(a.digest());
        expect(restored.size()).toBe(a.size());
      }),
      { numRuns: 50 },
    );
  });

  it("captures the snapshot when asked, not when the chunks are read", async () => {
    const machine = createKvStateMachine();
    const big = new Uint8Array(100_000);
    for (let i = 0; i < 8; i++) await apply(machine, i + 1, { op: KvOp.Put, key: bytes(`k${i}`), value: big });
    const digestBefore = machine.digest();
    const snapshot = machine.saveSnapshot();
    await apply(machine, 9, { op: KvOp.Delete, key: bytes("k0") });
    const chunks = await collect(snapshot);
    expect(chunks.length).toBeGreaterThan(1);
    const restored = createKvStateMachine();
    await restored.restoreSnapshot(8, replay(chunks));
    expect(restored.digest()).toEqual(digestBefore);
  });

  it("rejects a damaged snapshot", async () => {
    const machine = createKvStateMachine();
    await apply(machine, 1, { op: KvOp.Put, key: bytes("a"), value: bytes("1") });
    const [chunk] = await collect(machine.saveSnapshot());
    await expect(createKvStateMachine().restoreSnapshot(1, replay([chunk!.slice(0, -1)]))).rejects.toThrow(/past the end/);
    await expect(createKvStateMachine().restoreSnapshot(1, replay([bytes("XXXXX0000")]))).rejects.toThrow(/bad magic/);
  });
});

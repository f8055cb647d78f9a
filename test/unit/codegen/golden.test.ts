/**
 * Golden: the fixed annotated protos under fixtures/ → generated files
 * compared byte for byte with golden/ (ts-proto messages, the default) and
 * golden-protobuf-es/ (`messages: "protobuf-es"`) (committed, each with a `.golden`
 * suffix so the repository's own type-check and test runs skip them). After an intended change:
 * RAFTKIT_UPDATE_GOLDEN=1 npx vitest run test/unit/codegen/golden.test.ts
 * rewrites golden/, then review the diff. Also: the plugin run by buf from a
 * buf.gen.yaml of one's own writes the same files, and the golden tree
 * type-checks under strict TypeScript in a project resolving raftkit as a package.
 */
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generate, outputMarker, raftkitPluginPath } from "../../../codegen/index.js";
import type { MessageModel } from "../../../codegen/index.js";
import { runTool } from "../../../codegen/run-tool.js";
import { bufPath, optionsProtoPath } from "../../../codegen/tool-paths.js";
import { createTempProject, repositoryRoot, runIn, writeStrictTsconfig } from "./temp-project.js";

const fixtures = join(repositoryRoot, "test/unit/codegen/fixtures");
const goldenDirectories: Readonly<Record<MessageModel, string>> = {
  "ts-proto": join(repositoryRoot, "test/unit/codegen/golden"),
  "protobuf-es": join(repositoryRoot, "test/unit/codegen/golden-protobuf-es"),
};
const modes: readonly MessageModel[] = ["ts-proto", "protobuf-es"];
const update = process.env["RAFTKIT_UPDATE_GOLDEN"] === "1";
const scratch: string[] = [];
/** Bound on a test that runs a child program (buf, tsc) on a loaded 2-core CI box. */
const childProgramLimitMs = 180_000;

afterAll(async () => {
  for (const directory of scratch) await rm(directory, { recursive: true, force: true });
});

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)).split(sep).join("/"))
    .filter((name) => name !== outputMarker)
    .map((name) => name.replace(/\.golden$/, ""))
    .sort();
}

const goldenFile = (mode: MessageModel, file: string): string =>
  join(goldenDirectories[mode], `${file}.golden`);

/** Writes the generated tree as the new golden files (update mode). */
async function rewriteGolden(
  mode: MessageModel,
  generated: string,
  files: readonly string[],
): Promise<void> {
  await rm(goldenDirectories[mode], { recursive: true, force: true });
  for (const file of files) {
    await mkdir(dirname(goldenFile(mode, file)), { recursive: true });
    await cp(join(generated, file), goldenFile(mode, file));
  }
}

/** The golden tree as .ts files, for the type-check. */
async function copyGoldenAsSource(mode: MessageModel, target: string): Promise<void> {
  for (const file of await listFiles(goldenDirectories[mode])) {
    await mkdir(dirname(join(target, file)), { recursive: true });
    await cp(goldenFile(mode, file), join(target, file));
  }
}

async function temporary(prefix: string): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), prefix));
  scratch.push(directory);
  return directory;
}

/** The parameter generate() passes, so buf's run prints the same header. */
const parameter = [
  "target=ts", "import_extension=js", "framework=raftkit/framework",
  "source_root=test/unit/codegen/fixtures", "client=true", "di=true",
];
const parameters: Readonly<Record<MessageModel, readonly string[]>> = {
  "ts-proto": parameter,
  "protobuf-es": [...parameter, "messages=protobuf-es"],
};

describe("codegen golden files", () => {
  it.each(modes)("generates exactly the committed golden files, byte for byte (%s)",
    async (mode) => {
      const generated = await temporary("raftkit-golden-");
      const previous = process.cwd();
      process.chdir(repositoryRoot); // the header names the proto directory as given
      try {
        await generate({
          protoDirectory: relative(repositoryRoot, fixtures),
          outDirectory: generated,
          framework: "raftkit/framework",
          messages: mode,
        });
      } finally {
        process.chdir(previous);
      }
      const files = await listFiles(generated);
      if (update) await rewriteGolden(mode, generated, files);
      expect(files).toEqual(await listFiles(goldenDirectories[mode]));
      expect(files).toContain("shop/v1/orders_raftkit.ts");
      expect(files).toContain(mode === "ts-proto" ? "shop/v1/orders.ts" : "shop/v1/orders_pb.ts");
      for (const file of files) {
        const actual = await readFile(join(generated, file), "utf8");
        expect(actual, file).toBe(await readFile(goldenFile(mode, file), "utf8"));
      }
      // generate() runs buf and the message plugin as child programs: 23-33 s each at load 25-28
      // in session 5's loops (under 1 s quiet), against vitest's default 60 s before.
    }, childProgramLimitMs);

  it("run by buf as a plain plugin (own buf.gen.yaml), writes the same raftkit files", async () => {
    const workspace = await temporary("raftkit-bufplugin-");
    await cp(fixtures, join(workspace, "fixtures"), { recursive: true });
    await mkdir(join(workspace, "deps/raftkit/v1"), { recursive: true });
    await cp(optionsProtoPath, join(workspace, "deps/raftkit/v1/options.proto"));
    await writeFile(join(workspace, "buf.yaml"),
      "version: v2\nmodules:\n  - path: fixtures\n  - path: deps\n");
    // One buf run, both modes: each plugin entry writes its own output root.
    const plugins = modes.flatMap((mode) => [
      `  - local: ${JSON.stringify(raftkitPluginPath)}`, `    out: out-${mode}`, "    opt:",
      ...parameters[mode].map((option) => `      - ${option}`),
    ]);
    await writeFile(join(workspace, "buf.gen.yaml"), [
      "version: v2", "inputs:", "  - directory: fixtures", "plugins:", ...plugins, "",
    ].join("\n"));
    await runTool(bufPath(), ["generate"], workspace);
    for (const mode of modes) {
      const files = await listFiles(join(workspace, `out-${mode}`));
      expect(files).toEqual([
        "shop/v1/orders_raftkit.ts", "shop/v1/orders_raftkit_client.ts",
        "shop/v1/orders_raftkit_di.ts",
      ]);
      for (const file of files) {
        const actual = await readFile(join(workspace, `out-${mode}`, file), "utf8");
        expect(actual, `${mode} ${file}`).toBe(await readFile(goldenFile(mode, file), "utf8"));
      }
    }
    // buf starts two node plugin processes: 11 s at load 13 on 2 cores; the limit catches a
    // hung child, it is not a timing check (the default 60 s is too close under CI load).
  }, childProgramLimitMs);

  it("the generated trees type-check under strict TypeScript", async () => {
    const project = await createTempProject("raftkit-typecheck-");
    scratch.push(project);
    // One tsc run for both trees (each tsc start costs seconds of CPU on a busy machine).
    await copyGoldenAsSource("ts-proto", join(project, "src"));
    await writeFile(join(project, "src/use.ts"), usage);
    await copyGoldenAsSource("protobuf-es", join(project, "src-es"));
    await writeFile(join(project, "src-es/use.ts"), usageProtobufEs);
    await writeStrictTsconfig(project, ["src", "src-es"]);
    const result = await runIn(project, "tsc", ["--noEmit", "-p", "."]);
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
    // One tsc run took 23 s at load 13 on 2 cores (init.test.ts saw its children take 60 s at
    // load 20): the limit catches a hung tsc, it is not a timing check.
  }, childProgramLimitMs);
});

/** Code a user writes against the generated API: a wrong type anywhere fails the type-check. */
const usage = `
import type { ApplyContext, QueryContext } from "raftkit/framework/statemachine/index.js";
import { createExecutorRegistry, ExecutableKind } from "raftkit/framework/statemachine/index.js";
import type { RaftkitClient } from "raftkit/framework/client/index.js";
import type { Money } from "./shop/v1/common.js";
import type { CountRequest, CountResponse, Order_Line } from "./shop/v1/orders.js";
import { StockServiceCount, registerStockService } from "./shop/v1/orders_raftkit.js";
import type { StockServiceExecutor } from "./shop/v1/orders_raftkit.js";
import { StockServiceClient } from "./shop/v1/orders_raftkit_client.js";

class Stock implements StockServiceExecutor {
  reserve(request: Order_Line, context: ApplyContext): Money {
    return { cents: BigInt(request.quantity) * BigInt(context.index), currency: request.sku };
  }
  async count(request: CountRequest, context: QueryContext): Promise<CountResponse> {
    return { count: BigInt(request.warehouse) + BigInt(context.appliedIndex) };
  }
}
registerStockService(createExecutorRegistry(), new Stock());
const kind: ExecutableKind = StockServiceCount.kind;
const machine: string | undefined = StockServiceCount.stateMachine;
export async function call(client: RaftkitClient): Promise<bigint> {
  const stock = new StockServiceClient(client);
  const money: Money = await stock.reserveByKey({ warehouse: 3, sku: "a", quantity: 1 });
  const count = await stock.count(7, { warehouse: 7n, sku: "a" }, { consistency: "lease" });
  return money.cents + count.count + BigInt(kind.length) + BigInt(machine?.length ?? 0);
}
`;

/** The same against the protobuf-es tree, with a codec override and the descriptor set. */
const usageProtobufEs = `
import { create } from "@bufbuild/protobuf";
import type {
  ApplyContext, MessageCodec, QueryContext,
} from "raftkit/framework/statemachine/index.js";
import {
  createExecutorRegistry, ExecutableKind, protobufEsCodec,
} from "raftkit/framework/statemachine/index.js";
import type { RaftkitClient } from "raftkit/framework/client/index.js";
import type { Money } from "./shop/v1/common_pb.js";
import { MoneySchema } from "./shop/v1/common_pb.js";
import type { CountRequest, CountResponse, Order_Line } from "./shop/v1/orders_pb.js";
import { CountRequestSchema, CountResponseSchema, Order_LineSchema } from "./shop/v1/orders_pb.js";
import {
  createStockServiceDescriptors, registerStockService, StockServiceCount, stockServiceDescriptors,
  stockServiceStateMachine,
} from "./shop/v1/orders_raftkit.js";
import type { StockServiceDescriptors, StockServiceExecutor } from "./shop/v1/orders_raftkit.js";
import { StockServiceClient } from "./shop/v1/orders_raftkit_client.js";

class Stock implements StockServiceExecutor {
  reserve(request: Order_Line, context: ApplyContext): Money {
    return create(MoneySchema, { cents: BigInt(request.quantity) * BigInt(context.index) });
  }
  async count(request: CountRequest, context: QueryContext): Promise<CountResponse> {
    return create(CountResponseSchema, { count: request.warehouse + BigInt(context.appliedIndex) });
  }
}
const fastLine: MessageCodec<Order_Line> = protobufEsCodec(Order_LineSchema);
const descriptors: StockServiceDescriptors = createStockServiceDescriptors({
  reserve: { request: fastLine },
});
registerStockService(createExecutorRegistry(), new Stock(), descriptors);
registerStockService(createExecutorRegistry(), new Stock());
const kind: ExecutableKind = StockServiceCount.kind;
const machine: string = stockServiceStateMachine;
export async function call(client: RaftkitClient): Promise<bigint> {
  const stock = new StockServiceClient(client, descriptors);
  const money: Money = await stock.reserveByKey(
    create(Order_LineSchema, { warehouse: 3, sku: "a", quantity: 1 }));
  const count = await new StockServiceClient(client).count(7,
    create(CountRequestSchema, { warehouse: 7n, sku: "a" }), { consistency: "lease" });
  return money.cents + count.count + BigInt(kind.length + machine.length) +
    BigInt(stockServiceDescriptors.count.typeName.length);
}
`;

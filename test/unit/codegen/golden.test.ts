/**
 * Golden: the fixed annotated protos under fixtures/ → generated files
 * compared byte for byte with golden/ (committed, each with a `.golden`
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
import { runTool } from "../../../codegen/run-tool.js";
import { bufPath, optionsProtoPath } from "../../../codegen/tool-paths.js";
import { createTempProject, repositoryRoot, runIn, writeStrictTsconfig } from "./temp-project.js";

const fixtures = join(repositoryRoot, "test/unit/codegen/fixtures");
const goldenDirectory = join(repositoryRoot, "test/unit/codegen/golden");
const update = process.env["RAFTKIT_UPDATE_GOLDEN"] === "1";
const scratch: string[] = [];

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

const goldenFile = (file: string): string => join(goldenDirectory, `${file}.golden`);

/** Writes the generated tree as the new golden files (update mode). */
async function rewriteGolden(generated: string, files: readonly string[]): Promise<void> {
  await rm(goldenDirectory, { recursive: true, force: true });
  for (const file of files) {
    await mkdir(dirname(goldenFile(file)), { recursive: true });
    await cp(join(generated, file), goldenFile(file));
  }
}

/** The golden tree as .ts files, for the type-check. */
async function copyGoldenAsSource(target: string): Promise<void> {
  for (const file of await listFiles(goldenDirectory)) {
    await mkdir(dirname(join(target, file)), { recursive: true });
    await cp(goldenFile(file), join(target, file));
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

describe("codegen golden files", () => {
  let generated = "";

  it("generates exactly the committed golden files, byte for byte", async () => {
    generated = await temporary("raftkit-golden-");
    const previous = process.cwd();
    process.chdir(repositoryRoot); // the header names the proto directory as given
    try {
      await generate({
        protoDirectory: relative(repositoryRoot, fixtures),
        outDirectory: generated,
        framework: "raftkit/framework",
      });
    } finally {
      process.chdir(previous);
    }
    const files = await listFiles(generated);
    if (update) await rewriteGolden(generated, files);
    expect(files).toEqual(await listFiles(goldenDirectory));
    expect(files).toContain("shop/v1/orders_raftkit.ts");
    for (const file of files) {
      const actual = await readFile(join(generated, file), "utf8");
      expect(actual, file).toBe(await readFile(goldenFile(file), "utf8"));
    }
  });

  it("run by buf as a plain plugin (own buf.gen.yaml), writes the same raftkit files", async () => {
    const workspace = await temporary("raftkit-bufplugin-");
    await cp(fixtures, join(workspace, "fixtures"), { recursive: true });
    await mkdir(join(workspace, "deps/raftkit/v1"), { recursive: true });
    await cp(optionsProtoPath, join(workspace, "deps/raftkit/v1/options.proto"));
    await writeFile(join(workspace, "buf.yaml"),
      "version: v2\nmodules:\n  - path: fixtures\n  - path: deps\n");
    const options = parameter.map((option) => `      - ${option}`).join("\n");
    await writeFile(join(workspace, "buf.gen.yaml"), [
      "version: v2", "inputs:", "  - directory: fixtures", "plugins:",
      `  - local: ${JSON.stringify(raftkitPluginPath)}`, "    out: out", "    opt:", options, "",
    ].join("\n"));
    await runTool(bufPath(), ["generate"], workspace);
    const files = await listFiles(join(workspace, "out"));
    expect(files).toEqual([
      "shop/v1/orders_raftkit.ts", "shop/v1/orders_raftkit_client.ts", "shop/v1/orders_raftkit_di.ts",
    ]);
    for (const file of files) {
      const actual = await readFile(join(workspace, "out", file), "utf8");
      expect(actual, file).toBe(await readFile(goldenFile(file), "utf8"));
    }
  });

  it("the generated tree type-checks under strict TypeScript", async () => {
    const project = await createTempProject("raftkit-typecheck-");
    scratch.push(project);
    await copyGoldenAsSource(join(project, "src"));
    await writeFile(join(project, "src/use.ts"), usage);
    await writeStrictTsconfig(project, ["src"]);
    const result = await runIn(project, "tsc", ["--noEmit", "-p", "."]);
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });
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

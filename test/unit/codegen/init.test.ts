/**
 * `raftkit init <name>` then the scaffold's generate step (the raftkit bin): it type-checks
 * under strict TypeScript and its own test passes, in a directory outside
 * the repository that resolves raftkit as a package (node_modules linked to
 * this repository's). Also the commands' refusals (exit code 2 material).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { registerCodegenCommands } from "../../../framework/cli/generate-command.js";
import { isUsageError } from "../../../framework/cli/usage-error.js";
import { linkNodeModules, runIn } from "./temp-project.js";

const scratch: string[] = [];
/** Bound on a test that runs buf (a child program) on a loaded 2-core CI box: a hang detector. */
const childProgramLimitMs = 180_000;

afterAll(async () => {
  for (const directory of scratch) await rm(directory, { recursive: true, force: true });
});

async function temporary(prefix: string): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), prefix));
  scratch.push(directory);
  return directory;
}

/** Runs the codegen commands in this process; resolves with what they printed, or the error. */
async function raftkit(args: readonly string[]): Promise<{ output: string; error: unknown }> {
  let output = "";
  const program = new Command("raftkit").exitOverride()
    .configureOutput({
      writeOut: (text) => (output += text),
      writeErr: (text) => (output += text),
    });
  registerCodegenCommands(program);
  try {
    await program.parseAsync([...args], { from: "user" });
    return { output, error: undefined };
  } catch (error) {
    return { output, error };
  }
}

describe("raftkit init", () => {
  it("scaffolds a project that generates, type-checks and passes its test", async () => {
    const project = await temporary("raftkit-init-");
    const init = await raftkit(["init", "order-book", "--dir", project]);
    expect(init.error).toBeUndefined();
    expect(init.output).toContain('created state machine "order-book"');
    const files = (await readdir(project, { recursive: true })).map(String).sort();
    expect(files).toEqual(expect.arrayContaining([
      ".gitignore", "package.json", "tsconfig.json", "README.md",
      "proto/order_book/v1/order_book.proto", "src/order-book-executor.ts",
      "src/order-book-state-machine.ts", "test/order-book.test.ts",
    ]));
    const proto = await readFile(join(project, "proto/order_book/v1/order_book.proto"), "utf8");
    expect(proto).toContain('option (raftkit.v1.state_machine) = {name: "order-book"};');
    expect(proto).toContain("service OrderBookService {");
    await linkNodeModules(project);
    // What the scaffold's `npm run generate` runs: the raftkit bin of node_modules/.bin.
    const generated = await runIn(project, "raftkit",
      ["generate", "--proto", "proto", "--out", "src/gen"]);
    expect(generated.output).toContain("order_book/v1/order_book_raftkit.ts");
    expect(generated.code).toBe(0);
    const packageJson = await readFile(join(project, "package.json"), "utf8");
    expect(packageJson).toContain('"generate": "raftkit generate --proto proto --out src/gen"');
    const typecheck = await runIn(project, "tsc", ["--noEmit", "-p", "."]);
    expect(typecheck.output).toBe("");
    expect(typecheck.code).toBe(0);
    const test = await runIn(project, "vitest", ["run"]);
    expect(test.output).toMatch(/Tests\s+2 passed \(2\)/);
    expect(test.code).toBe(0);
    // Three child programs (generate, tsc, vitest) took 56-60 s at load 20 on 2 cores, and
    // 68-241 s in session 5's loops at load 11-28 (11 s on a quiet box): the limit catches a
    // hung child, it is not a timing check.
  }, 480_000);

  it("refuses a bad name, naming what is allowed", async () => {
    const directory = await temporary("raftkit-bad-");
    const { error } = await raftkit(["init", "Order_Book", "--dir", directory]);
    expect(isUsageError(error)).toBe(true);
    expect(String(error)).toMatch(/name "Order_Book": allowed lowercase letters and digits/);
    for (const name of ["order--book", "9lives", "x-", "a_b"]) {
      expect(String((await raftkit(["init", name])).error)).toContain(`name "${name}"`);
    }
  });

  it("refuses to write into a directory that is not empty", async () => {
    const directory = await temporary("raftkit-full-");
    await writeFile(join(directory, "keep.txt"), "mine");
    const { error } = await raftkit(["init", "counter", "--dir", directory]);
    expect(isUsageError(error)).toBe(true);
    expect(String(error)).toMatch(/exists and is not empty/);
    expect(await readdir(directory)).toEqual(["keep.txt"]);
  });
});

describe("raftkit generate refusals", () => {
  it("a proto directory without .proto files", async () => {
    const empty = await temporary("raftkit-noproto-");
    const { error } = await raftkit(["generate", "--proto", empty, "--out", join(empty, "gen")]);
    expect(isUsageError(error)).toBe(true);
    expect(String(error)).toMatch(/no \.proto files found/);
  });

  it("an output directory not made by raftkit generate is left alone", async () => {
    const directory = await temporary("raftkit-foreign-");
    await mkdir(join(directory, "proto"));
    await writeFile(join(directory, "proto/x.proto"), 'syntax = "proto3";\npackage x;\n');
    await mkdir(join(directory, "src"));
    await writeFile(join(directory, "src/main.ts"), "export {};\n");
    const { error } = await raftkit(["generate", "--proto", join(directory, "proto"),
      "--out", join(directory, "src")]);
    expect(isUsageError(error)).toBe(true);
    expect(String(error)).toMatch(/not empty and not made by raftkit generate/);
    expect(await readdir(join(directory, "src"))).toEqual(["main.ts"]);
  });

  it("an unknown message model names the flag and the models", async () => {
    const directory = await temporary("raftkit-badmodel-");
    const { error } = await raftkit(["generate", "--proto", "proto", "--out", join(directory, "gen"),
      "--messages", "es"]);
    expect(isUsageError(error)).toBe(true);
    expect(String(error)).toMatch(/--messages "es".*ts-proto.*protobuf-es/);
  });

  it("--messages protobuf-es writes the raftkit pieces over protobuf-es messages", async () => {
    const directory = await temporary("raftkit-esmodel-");
    await mkdir(join(directory, "proto"));
    await writeFile(join(directory, "proto/counter.proto"), [
      'syntax = "proto3";', "package counter.v1;", 'import "raftkit/v1/options.proto";',
      'service CounterService { option (raftkit.v1.state_machine) = {name: "counter"};',
      "  rpc Add(AddRequest) returns (AddResponse) { option (raftkit.v1.executable) = {kind: EXECUTABLE_KIND_COMMAND}; } }",
      "message AddRequest { int64 delta = 1; }", "message AddResponse { int64 total = 1; }", "",
    ].join("\n"));
    const { error, output } = await raftkit(["generate", "--proto", join(directory, "proto"),
      "--out", join(directory, "gen"), "--messages", "protobuf-es"]);
    expect(error).toBeUndefined();
    expect(output).toContain("counter_pb.ts");
    const raftkitFile = output.split("\n").map((line) => line.trim()).find((line) => line.endsWith("counter_raftkit.ts"));
    expect(raftkitFile).toBeDefined();
    const text = await readFile(join(directory, "gen", raftkitFile ?? ""), "utf8");
    expect(text).toContain("protobufEsCodec(AddRequestSchema)");
    // buf and its plugins as child programs: 39 s at load 25 (session 5), under 1 s quiet.
  }, childProgramLimitMs);

  it("bad annotations: every problem with file:line", async () => {
    const directory = await temporary("raftkit-badproto-");
    await mkdir(join(directory, "proto"));
    await writeFile(join(directory, "proto/bad.proto"), [
      'syntax = "proto3";', "package bad;", 'import "raftkit/v1/options.proto";',
      'service S { option (raftkit.v1.state_machine) = {name: "s"}; rpc A(M) returns (M); }',
      "message M { bytes k = 1 [(raftkit.v1.partition_key) = true]; }", "",
    ].join("\n"));
    const { error } = await raftkit(["generate", "--proto", join(directory, "proto"),
      "--out", join(directory, "gen")]);
    expect(isUsageError(error)).toBe(true);
    const proto = join(directory, "proto", "bad.proto");
    expect(String(error)).toContain(`${proto}:4:`);
    expect(String(error)).toContain(`${proto}:5:`);
    // buf as a child program: 14 s at load 25 (session 5).
  }, childProgramLimitMs);
});

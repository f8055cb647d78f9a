/**
 * Every annotation rule of protoc-gen-raftkit: a proto breaking it fails
 * generation with one problem per break, located at the offending line
 * ("cases/<file>.proto:line:column"). The line is the one marked `// <-` in
 * the case. One buf build of all cases; the plugin runs in this process.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AnnotationProblem } from "../../../codegen/index.js";
import { CodegenErrorCode, isCodegenError, runRaftkitPlugin } from "../../../codegen/index.js";
import { runTool } from "../../../codegen/run-tool.js";
import { bufPath, optionsProtoPath } from "../../../codegen/tool-paths.js";

/** One package per case (`cases.<name>`), so the cases share one buf build without clashes. */
const header = (name: string): string =>
  `syntax = "proto3";\npackage cases.${name};\nimport "raftkit/v1/options.proto";\n`;
const messages = `
message Req { string key = 1 [(raftkit.v1.partition_key) = true]; }
message Res { uint64 value = 1; }
`;

/** name → proto body (after the header); `// <-` marks each line a problem must point at. */
const cases: Readonly<Record<string, string>> = {
  query_streaming: `
service S {
  option (raftkit.v1.state_machine) = {name: "s"};
  rpc Watch(Req) returns (stream Res) { // <-
    option (raftkit.v1.executable) = {kind: EXECUTABLE_KIND_QUERY};
  }
}`,
  command_streaming: `
service S {
  option (raftkit.v1.state_machine) = {name: "s"};
  rpc Upload(stream Req) returns (Res) { // <-
    option (raftkit.v1.executable) = {kind: EXECUTABLE_KIND_COMMAND};
  }
}`,
  no_state_machine: `
service S {
  rpc Put(Req) returns (Res) {
    option (raftkit.v1.executable) = {kind: EXECUTABLE_KIND_COMMAND}; // <-
  }
}`,
  no_kind: `
service S {
  option (raftkit.v1.state_machine) = {name: "s"};
  rpc Put(Req) returns (Res); // <-
}`,
  unspecified_kind: `
service S {
  option (raftkit.v1.state_machine) = {name: "s"};
  rpc Put(Req) returns (Res) {
    option (raftkit.v1.executable) = {deadline_ms: 100}; // <-
  }
}`,
  key_bytes: `
message Bad { bytes key = 1 [(raftkit.v1.partition_key) = true]; } // <-`,
  key_repeated: `
message Bad {
  repeated string keys = 1 [(raftkit.v1.partition_key) = true]; // <-
}`,
  key_message: `
message Bad {
  Res key = 1 [(raftkit.v1.partition_key) = true]; // <-
}`,
  two_keys: `
message Bad {
  string tenant = 1 [(raftkit.v1.partition_key) = true];
  string key = 2 [(raftkit.v1.partition_key) = true]; // <-
}`,
  bad_name: `
service S {
  option (raftkit.v1.state_machine) = {name: "Key_Value"}; // <-
  rpc Put(Req) returns (Res) {
    option (raftkit.v1.executable) = {kind: EXECUTABLE_KIND_COMMAND};
  }
}`,
  empty_name: `
service S {
  option (raftkit.v1.state_machine) = {}; // <-
  rpc Put(Req) returns (Res) {
    option (raftkit.v1.executable) = {kind: EXECUTABLE_KIND_COMMAND};
  }
}`,
  command_consistency: `
service S {
  option (raftkit.v1.state_machine) = {name: "s"};
  rpc Put(Req) returns (Res) {
    option (raftkit.v1.executable) = { // <-
      kind: EXECUTABLE_KIND_COMMAND, consistency: QUERY_CONSISTENCY_STALE};
  }
}`,
  no_rpc: `
service S { // <-
  option (raftkit.v1.state_machine) = {name: "s"};
}`,
  several: `
service S {
  option (raftkit.v1.state_machine) = {name: "9lives"}; // <-
  rpc Put(Req) returns (Res); // <-
  rpc Get(Req) returns (stream Res) { // <-
    option (raftkit.v1.executable) = {kind: EXECUTABLE_KIND_QUERY};
  }
}
message Bad { double key = 1 [(raftkit.v1.partition_key) = true]; } // <-`,
  valid: `
service S {
  option (raftkit.v1.state_machine) = {name: "kv-2"};
  rpc Put(Req) returns (Res) {
    option (raftkit.v1.executable) = {kind: EXECUTABLE_KIND_COMMAND};
  }
}
message IntKey { sfixed64 id = 1 [(raftkit.v1.partition_key) = true]; string other = 2; }`,
};

/** Per case, one entry per problem in source order: a pattern, or patterns that all match. */
const expectedMessages: Readonly<Record<string, ReadonlyArray<RegExp | readonly RegExp[]>>> = {
  query_streaming: [/rpc cases\.\w+\.S\.Watch is a query declared server streaming: .*unary/],
  command_streaming: [/rpc cases\.\w+\.S\.Upload is a command declared client streaming/],
  no_state_machine: [
    [/rpc cases\.\w+\.S\.Put has \(raftkit\.v1\.executable\) but its service has no /,
      /\(raftkit\.v1\.state_machine\) option$/],
  ],
  no_kind: [/rpc cases\.\w+\.S\.Put has no kind: add option \(raftkit\.v1\.executable\)/],
  unspecified_kind: [/rpc cases\.\w+\.S\.Put has no kind/],
  key_bytes: [
    [/field cases\.\w+\.Bad\.key: a partition key must be a singular string or integer field, /,
      /found bytes$/],
  ],
  key_repeated: [/field cases\.\w+\.Bad\.keys: .* found a repeated field/],
  key_message: [/field cases\.\w+\.Bad\.key: .* found message cases\.\w+\.Res/],
  two_keys: [
    [/field cases\.\w+\.Bad\.key: message cases\.\w+\.Bad has more than one partition key /,
      /\(tenant, key\); at most one is allowed$/],
  ],
  bad_name: [/service cases\.\w+\.S: state machine name "Key_Value" is not allowed/],
  empty_name: [/service cases\.\w+\.S: state machine name "" is not allowed/],
  command_consistency: [
    /rpc cases\.\w+\.S\.Put is a command: consistency is only for EXECUTABLE_KIND_QUERY/,
  ],
  no_rpc: [/service cases\.\w+\.S has \(raftkit\.v1\.state_machine\) but no rpc/],
  several: [
    /state machine name "9lives"/,
    /S\.Put has no kind/,
    /S\.Get is a query declared server streaming/,
    /Bad\.key: .* found double/,
  ],
};

let workspace = "";
let image: Uint8Array = new Uint8Array();

beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), "raftkit-validation-"));
  await mkdir(join(workspace, "cases/cases"), { recursive: true });
  await mkdir(join(workspace, "deps/raftkit/v1"), { recursive: true });
  const options = await readFile(optionsProtoPath);
  await writeFile(join(workspace, "deps/raftkit/v1/options.proto"), options);
  for (const [name, body] of Object.entries(cases)) {
    const text = `${header(name)}${messages}${body}\n`;
    await writeFile(join(workspace, `cases/cases/${name}.proto`), text);
  }
  await writeFile(join(workspace, "buf.yaml"),
    "version: v2\nmodules:\n  - path: cases\n  - path: deps\n");
  const imagePath = join(workspace, "image.binpb");
  await runTool(bufPath(), ["build", ".", "--as-file-descriptor-set", "-o", imagePath], workspace);
  image = await readFile(imagePath);
});

afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
});

/** 1-based lines marked `// <-` in a case's whole file. */
function markedLines(name: string): number[] {
  const lines = `${header(name)}${messages}${cases[name]}`.split("\n");
  return lines.flatMap((line, index) => (line.includes("// <-") ? [index + 1] : []));
}

function problemsOf(name: string): readonly AnnotationProblem[] {
  const parameter = "target=ts,import_extension=js,source_root=protos";
  try {
    runRaftkitPlugin(image, [`cases/${name}.proto`], parameter);
  } catch (error) {
    if (isCodegenError(error, CodegenErrorCode.InvalidAnnotation)) return error.problems;
    throw error;
  }
  return [];
}

describe("annotation validation", () => {
  for (const [name, patterns] of Object.entries(expectedMessages)) {
    it(`${name}: refused at the marked line(s)`, () => {
      const problems = problemsOf(name);
      expect(problems.map((problem) => problem.message)).toHaveLength(patterns.length);
      patterns.forEach((expected, index) => {
        for (const pattern of [expected].flat()) expect(problems[index]?.message).toMatch(pattern);
      });
      const lines = problems.map((problem) => {
        const match = /^protos\/cases\/([a-z_]+)\.proto:(\d+):(\d+)$/.exec(problem.location);
        expect(match?.[1], problem.location).toBe(name);
        return Number(match?.[2]);
      });
      expect(lines).toEqual(markedLines(name));
    });
  }

  it("a valid file (string and sfixed64 keys, a dashed name) passes and renders", () => {
    const files = runRaftkitPlugin(image, ["cases/valid.proto"],
      "target=ts,import_extension=js,client=false,di=false");
    expect(files.map((file) => file.name)).toEqual(["cases/valid_raftkit.ts"]);
    expect(files[0]?.content).toContain('stateMachine: "kv-2"');
  });

  it("the thrown error lists every problem as file:line:column: message", () => {
    let thrown: unknown;
    try {
      runRaftkitPlugin(image, ["cases/several.proto"], "target=ts");
    } catch (error) {
      thrown = error;
    }
    expect(isCodegenError(thrown, CodegenErrorCode.InvalidAnnotation)).toBe(true);
    const lines = String(thrown instanceof Error ? thrown.message : "").split("\n");
    expect(lines[0]).toBe("4 raftkit annotation problem(s):");
    const located = /^cases\/several\.proto:\d+:\d+: /;
    expect(lines.slice(1).every((line) => located.test(line))).toBe(true);
  });

  it("an unknown plugin option is refused, naming it and what is allowed", () => {
    expect(() => runRaftkitPlugin(image, ["cases/valid.proto"], "target=ts,colour=blue"))
      .toThrow(/colour="blue": allowed one of framework, source_root, client, di/);
    expect(() => runRaftkitPlugin(image, ["cases/valid.proto"], "target=ts,client=maybe"))
      .toThrow(/client="maybe": allowed true or false/);
  });
});

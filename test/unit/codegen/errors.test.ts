/** CodegenError: closed codes, guard, from(unknown); option and template refusals. */
import { describe, expect, it } from "vitest";
import type { MessageModel } from "../../../codegen/index.js";
import {
  CodegenError,
  CodegenErrorCode,
  generate,
  isCodegenError,
  parseRaftkitOptions,
  scaffoldNames,
} from "../../../codegen/index.js";
import { renderText } from "../../../codegen/scaffold.js";

describe("CodegenError", () => {
  it("guards by shape and narrows by code", () => {
    const error = new CodegenError(CodegenErrorCode.FileSystem, "gone");
    expect(isCodegenError(error)).toBe(true);
    expect(isCodegenError(error, CodegenErrorCode.FileSystem)).toBe(true);
    expect(isCodegenError(error, CodegenErrorCode.ToolFailed)).toBe(false);
    const lookalike = Object.assign(new Error("x"), { name: "CodegenError", code: "no_such_code" });
    expect(isCodegenError(lookalike)).toBe(false);
    expect(isCodegenError({ name: "CodegenError", code: "file_system" })).toBe(false);
  });

  it("from(unknown) keeps a CodegenError and wraps anything else as tool_failed", () => {
    const error = new CodegenError(CodegenErrorCode.InvalidOption, "bad");
    expect(CodegenError.from(error)).toBe(error);
    const wrapped = CodegenError.from(new RangeError("boom"));
    expect(wrapped.code).toBe(CodegenErrorCode.ToolFailed);
    expect(wrapped.message).toBe("boom");
    expect(CodegenError.from("text").message).toBe("text");
  });
});

/** An unchecked value typed as a MessageModel, as JavaScript callers can pass. */
function parseLoose(value: string): MessageModel {
  return JSON.parse(JSON.stringify(value)) as MessageModel; // deliberate: the bad input under test
}

describe("plugin options", () => {
  it("defaults, and every option parsed", () => {
    expect(parseRaftkitOptions([])).toEqual({
      framework: "raftkit/framework", sourceRoot: "", client: true, di: true, messages: "ts-proto",
    });
    expect(parseRaftkitOptions([
      { key: "framework", value: "../../framework/" }, { key: "source_root", value: "proto" },
      { key: "client", value: "false" }, { key: "di", value: "" },
      { key: "messages", value: "protobuf-es" },
    ])).toEqual({
      framework: "../../framework", sourceRoot: "proto", client: false, di: true,
      messages: "protobuf-es",
    });
  });

  it("refuses an unknown message model, naming the option and the models", () => {
    let thrown: unknown;
    try {
      parseRaftkitOptions([{ key: "messages", value: "protobuf-js" }]);
    } catch (error) {
      thrown = error;
    }
    expect(isCodegenError(thrown, CodegenErrorCode.InvalidOption)).toBe(true);
    expect(thrown instanceof Error ? thrown.message : "").toBe(
      'protoc-gen-raftkit option messages="protobuf-js": allowed ts-proto or protobuf-es');
  });

  it("generate() refuses an unknown message model before touching anything", async () => {
    const missing = "/nonexistent/raftkit-codegen-out";
    const attempt = generate({
      protoDirectory: "/nonexistent/proto",
      outDirectory: missing,
      // A value from a command line or plain JavaScript, not the MessageModel type.
      messages: parseLoose("es"),
    });
    await expect(attempt).rejects.toThrow('--messages "es": allowed ts-proto or protobuf-es');
    await expect(attempt).rejects.toSatisfy((error: unknown) =>
      isCodegenError(error, CodegenErrorCode.InvalidOption));
  });

  it("refuses an empty framework with the option named", () => {
    expect(() => parseRaftkitOptions([{ key: "framework", value: "" }]))
      .toThrow(/option framework="": allowed a package specifier or a relative path/);
  });
});

describe("scaffold names and templates", () => {
  it("spells a dashed name for every template slot", () => {
    expect(scaffoldNames("order-book-2")).toMatchObject({
      name: "order-book-2", kebab: "order-book-2", snake: "order_book_2", Pascal: "OrderBook2",
    });
  });

  it("an unknown placeholder names the template and the known ones", () => {
    expect(() => renderText("x {{nope}} y", scaffoldNames("kv"), "src/a.ts.tmpl"))
      .toThrow(/template src\/a\.ts\.tmpl: unknown placeholder \{\{nope\}\} \(known: name, kebab/);
  });
});

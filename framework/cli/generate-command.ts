import type { Command } from "commander";
import {
  CodegenErrorCode,
  generate,
  isCodegenError,
  parseMessageModel,
} from "../../codegen/index.js";
import { registerInitCommand } from "./init-command.js";
import { UsageError } from "./usage-error.js";

/**
 * Adds `raftkit generate` and `raftkit init` to the program. Output goes
 * through the program's configured writeOut. Bad annotations and options
 * fail with a UsageError (exit code 2) listing every problem as file:line.
 */
export function registerCodegenCommands(program: Command): void {
  const write = (text: string): void => {
    const output = program.configureOutput();
    if (output.writeOut !== undefined) output.writeOut(text);
    else process.stdout.write(text);
  };
  program
    .command("generate")
    .description("annotated .proto → messages, executors, clients, DI glue")
    .exitOverride()
    .option("--proto <dir>", "directory of the annotated .proto files", "proto")
    .option("--out <dir>", "output directory (owned by the generator, replaced)", "gen")
    .option("--framework <import>",
      "framework import root (default raftkit/framework; relative inside raftkit)")
    .option("--no-client", "skip the typed clients")
    .option("--no-di", "skip the DI glue")
    .option("--messages <model>", "message model: ts-proto or protobuf-es", "ts-proto")
    .action(async (options: GenerateFlags) => {
      const result = await runGenerate(options);
      write(`generated ${result.length} file(s) in ${options.out}:\n`);
      for (const file of result) write(`  ${file}\n`);
    });
  registerInitCommand(program, write);
}

interface GenerateFlags {
  readonly proto: string;
  readonly out: string;
  readonly framework?: string;
  readonly client: boolean;
  readonly di: boolean;
  readonly messages: string;
}

async function runGenerate(flags: GenerateFlags): Promise<readonly string[]> {
  try {
    const result = await generate({
      protoDirectory: flags.proto,
      outDirectory: flags.out,
      client: flags.client,
      di: flags.di,
      // An unknown model is InvalidOption: a usage error naming the flag and the models.
      messages: parseMessageModel(flags.messages, "--messages "),
      ...(flags.framework === undefined ? {} : { framework: flags.framework }),
    });
    return result.files;
  } catch (error) {
    if (isCodegenError(error, CodegenErrorCode.InvalidAnnotation) ||
      isCodegenError(error, CodegenErrorCode.InvalidOption) ||
      isCodegenError(error, CodegenErrorCode.FileSystem)) {
      throw new UsageError(error.message, { cause: error });
    }
    throw error;
  }
}

import type { Command } from "commander";
import { resolve } from "node:path";
import { CodegenErrorCode, isCodegenError, scaffold } from "../../codegen/index.js";
import { UsageError } from "./usage-error.js";

/** `raftkit init <name> [--dir DIR]`: a new state machine project from templates/init. */
export function registerInitCommand(program: Command, write: (text: string) => void): void {
  program
    .command("init")
    .description("scaffold a state machine project: annotated proto, executor, test")
    .exitOverride()
    .argument("<name>", "state machine name: lowercase letters, digits, '-' (e.g. order-book)")
    .option("--dir <dir>", "where to write it (default ./<name>; must be absent or empty)")
    .action(async (name: string, options: { dir?: string }) => {
      const directory = resolve(options.dir ?? name);
      let files: string[];
      try {
        files = await scaffold(name, directory);
      } catch (error) {
        if (isCodegenError(error, CodegenErrorCode.InvalidOption) ||
          isCodegenError(error, CodegenErrorCode.FileSystem)) {
          throw new UsageError(error.message, { cause: error });
        }
        throw error;
      }
      write(`created state machine "${name}" in ${directory}:\n`);
      for (const file of files) write(`  ${file}\n`);
      write("next: npm install, then npm test (generates src/gen, runs the test)\n");
    });
}

import { spawn } from "node:child_process";
import { CodegenError, CodegenErrorCode } from "./errors.js";

export interface ToolRun {
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Largest output kept from a tool (an image of a big proto tree fits easily). */
const outputBytesMax = 256 * 1024 * 1024;

/** Runs a tool to completion; a non-zero exit becomes ToolFailed with the tool's stderr. */
export function runTool(command: string, args: readonly string[], cwd: string): Promise<ToolRun> {
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(command, [...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= outputBytesMax) chunks.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", (error) => rejectRun(new CodegenError(CodegenErrorCode.ToolFailed,
      `${command} did not start: ${error.message}`, [], { cause: error })));
    child.on("close", (code, signal) => {
      if (code === 0 && size <= outputBytesMax) {
        resolveRun({ stdout: Buffer.concat(chunks), stderr });
        return;
      }
      const why = size > outputBytesMax ? `output above ${outputBytesMax} bytes`
        : signal !== null ? `killed by ${signal}` : `exit code ${String(code)}`;
      rejectRun(new CodegenError(CodegenErrorCode.ToolFailed,
        `${command} ${args.join(" ")} failed (${why}):\n${stderr.trim()}`));
    });
  });
}

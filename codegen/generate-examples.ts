/**
 * `npm run generate:examples`: regenerates the repository's own examples
 * from their protos (output not committed; tests run this first).
 */
import { generate } from "./generate.js";
import { raftkitRoot } from "./tool-paths.js";

const examples = [{ proto: "examples/kv/proto", out: "examples/kv/gen" }];

// Relative paths from the root: the generated headers name them, the same on every machine.
process.chdir(raftkitRoot);
for (const example of examples) {
  const result = await generate({ protoDirectory: example.proto, outDirectory: example.out });
  process.stdout.write(`${example.out}: ${result.files.length} file(s)\n`);
}

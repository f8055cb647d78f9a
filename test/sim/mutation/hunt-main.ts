import { hunt } from "./hunt.js";

/**
 * The child process of the mutation harness, started inside a sandbox:
 * `hunt-main.ts <first seed> <max runs> <nodes, e.g. 3,5> [all]`; prints the
 * HuntResult as one JSON line.
 */
function main(argv: readonly string[]): void {
  const [firstSeed, maxRuns, nodes, mode] = argv;
  if (mode !== undefined && mode !== "all") {
    throw new RangeError(`hunt-main mode = ${JSON.stringify(mode)}, allowed "all" or nothing`);
  }
  const numbers = (text: string | undefined, what: string): number[] => {
    const values = (text ?? "").split(",").map(Number);
    if (text === undefined || values.some((value) => !Number.isSafeInteger(value) || value < 0)) {
      throw new RangeError(`hunt-main ${what} = ${JSON.stringify(text)}, allowed integers ≥ 0`);
    }
    return values;
  };
  const result = hunt({
    firstSeed: numbers(firstSeed, "first seed")[0]!,
    maxRuns: numbers(maxRuns, "max runs")[0]!,
    nodes: numbers(nodes, "nodes"),
    all: mode === "all",
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main(process.argv.slice(2));

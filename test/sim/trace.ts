import { createHash } from "node:crypto";

/**
 * The run's fingerprint: a sha256 over every event the simulator processed,
 * in order. Same seed, same options, same core → same hash; any divergence
 * (a nondeterministic step anywhere) changes it.
 */
export interface Trace {
  record(line: string): void;
  digest(): string;
  /** The last lines recorded, for a failing seed's report. */
  tail(): readonly string[];
}

export function createTrace(sink?: (line: string) => void, tailLength = 40): Trace {
  const hash = createHash("sha256");
  const recent: string[] = [];
  return {
    record(line) {
      hash.update(line);
      hash.update("\n");
      sink?.(line);
      recent.push(line);
      if (recent.length > tailLength) recent.shift();
    },
    digest: () => hash.copy().digest("hex"),
    tail: () => [...recent],
  };
}

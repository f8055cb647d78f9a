/** A process's CPU time from /proc, for the benches that run node processes (Linux only). */
import { readFileSync } from "node:fs";

/** CPU time (user + system) of a process so far, in µs, from /proc (Linux); undefined elsewhere or when it is gone. */
export function processCpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    // Fields 14 and 15 of stat (utime, stime) are the 12th and 13th after the command; clock ticks of 10 ms.
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

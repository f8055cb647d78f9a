import { runProgram } from "./program.js";

/** Process entry of `raftkit` (run through tsx by bin/raftkit.js or `node --import tsx`). */
const stopRequested = (): Promise<string> =>
  new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      resolve(signal);
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });

const code = await runProgram(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stopRequested,
});
// Exit once stdout has drained (a large table on a pipe is written asynchronously), without
// waiting for reconnect timers or keep-alive sockets, which must not hold a finished process.
await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
process.exit(code);

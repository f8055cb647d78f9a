import { join } from "node:path";
import { freePorts, NodeProcess } from "./node-processes.js";

/**
 * A node process that joins a running cluster through one member's port
 * (`raftkit start --join`), on a free port, with its data under the
 * cluster's directory. Not started: the caller keeps it (to stop it in
 * afterAll whatever happens) and starts it.
 */
export async function joinerProcess(options: {
  readonly nodeId: number;
  readonly memberPort: number;
  readonly directory: string;
  readonly flags: readonly string[];
}): Promise<NodeProcess> {
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error("no free port for the joining node");
  const args = [
    "--id", `n${options.nodeId}`,
    "--listen", `127.0.0.1:${port}`,
    "--join", `127.0.0.1:${options.memberPort}`,
    "--data", join(options.directory, `n${options.nodeId}`),
    ...options.flags,
  ];
  return new NodeProcess(options.nodeId, port, args);
}

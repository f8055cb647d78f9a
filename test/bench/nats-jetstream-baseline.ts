/**
 * The NATS JetStream baseline of bench/event-store-service.ts: three
 * nats-server processes (Debian's nats-server) clustered on loopback, one R3
 * file-backed stream, producers publishing 64-byte messages with async
 * publish (a window of acks in flight each); messages/s and p50/p99 ack.
 * Returns undefined when nats-server is not installed.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "nats";

export interface NatsResult {
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
}

export async function natsJetStreamBaseline(seconds: number, producers: number, window: number,
  basePort = 14_220): Promise<NatsResult | undefined> {
  if (spawnSync("nats-server", ["--version"]).status !== 0) return undefined;
  const directory = await mkdtemp(join(tmpdir(), "es-bench-nats-"));
  const servers: ChildProcess[] = [];
  try {
    for (let node = 1; node <= 3; node++) {
      const routes = [1, 2, 3].filter((other) => other !== node).map((other) => `nats://127.0.0.1:${basePort + 10 + other}`);
      const config = join(directory, `n${node}.conf`);
      await writeFile(config, [
        `port: ${basePort + node}`, `server_name: n${node}`,
        `jetstream { store_dir: "${join(directory, `n${node}`)}" }`,
        `cluster { name: bench, listen: "127.0.0.1:${basePort + 10 + node}", routes: [${routes.map((route) => `"${route}"`).join(", ")}] }`,
      ].join("\n"));
      servers.push(spawn("nats-server", ["-c", config], { stdio: "ignore" }));
    }
    const connection = await connect({ servers: [1, 2, 3].map((node) => `127.0.0.1:${basePort + node}`), maxReconnectAttempts: 60, reconnectTimeWait: 250 });
    for (let attempt = 0; ; attempt++) {
      try {
        const manager = await connection.jetstreamManager();
        await manager.streams.add({ name: "bench", subjects: ["bench"], num_replicas: 3 });
        break;
      } catch (error) {
        if (attempt > 60) throw error; // the cluster elects its meta leader first
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    const jetstream = connection.jetstream();
    const payload = new Uint8Array(64).fill(7);
    const latencies: number[] = [];
    let published = 0;
    const until = performance.now() + seconds * 1000;
    const started = performance.now();
    await Promise.all(Array.from({ length: producers }, async () => {
      const inFlight = new Set<Promise<void>>();
      while (performance.now() < until) {
        const sent = performance.now();
        const ack: Promise<void> = jetstream.publish("bench", payload).then(() => {
          latencies.push(performance.now() - sent);
          published += 1;
        }, () => undefined).finally(() => inFlight.delete(ack));
        inFlight.add(ack);
        if (inFlight.size >= window) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    }));
    const elapsed = (performance.now() - started) / 1000;
    await connection.close();
    latencies.sort((a, b) => a - b);
    const at = (share: number) => latencies[Math.min(latencies.length - 1, Math.floor(share * latencies.length))] ?? NaN;
    return { rate: published / elapsed, p50: at(0.5), p99: at(0.99) };
  } finally {
    // The servers write their stores until they exit: remove the directory after that.
    await Promise.all(servers.map((server) => stopProcess(server)));
    await rm(directory, { recursive: true, force: true });
  }
}

/** SIGTERM, then resolves once the process has exited (SIGKILL after 10 s). */
function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const force = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(force);
      done();
    });
    child.kill("SIGTERM");
  });
}

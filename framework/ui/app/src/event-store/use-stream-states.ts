/// <reference lib="dom" />
import { useEffect, useState } from "preact/hooks";
import type { StreamInfoResponse } from "../../gen/eventstore/v1/eventstore_pb.js";
import { describeError } from "../cluster-poller.js";
import { usePolling } from "../use-polling.js";
import type { CountSample } from "./ingest-rate.js";
import { addSample } from "./ingest-rate.js";
import type { StreamCall } from "./leader-routing.js";

export interface StreamState {
  readonly info: StreamInfoResponse | undefined;
  readonly error: string | undefined;
  readonly samples: readonly CountSample[];
}

/** Streams asked at once every second (the selected one always among them). */
export const streamsPolledMax = 50;

/**
 * StreamInfo of the known streams every second: the last answer, the error
 * of the last failed call, and count samples for the ingest rate. `memory`
 * keeps them while another view is shown.
 */
export function useStreamStates(
  call: StreamCall,
  streams: readonly string[],
  selected: string | undefined,
  memory: { current: ReadonlyMap<string, StreamState> },
): ReadonlyMap<string, StreamState> {
  const [states, setStates] = useState<ReadonlyMap<string, StreamState>>(memory.current);
  useEffect(() => {
    memory.current = states;
  }, [states]);
  const polled = [...new Set([...(selected === undefined ? [] : [selected]), ...streams])].slice(
    0,
    streamsPolledMax,
  );
  usePolling(
    async () => {
      const answers = await Promise.all(polled.map((stream) => askStream(call, stream)));
      const atMs = Date.now();
      setStates((previous) => {
        const next = new Map(previous);
        for (const { stream, info, error } of answers) {
          const before = previous.get(stream);
          const samples = before?.samples ?? [];
          next.set(stream, {
            info: info ?? before?.info,
            error,
            samples:
              info === undefined
                ? samples
                : addSample(samples, { atMs, count: Number(info.eventCount) }),
          });
        }
        return next;
      });
    },
    1000,
    [call, polled.join(",")],
  );
  return states;
}

async function askStream(
  call: StreamCall,
  stream: string,
): Promise<{ stream: string; info: StreamInfoResponse | undefined; error: string | undefined }> {
  try {
    const info = await call(stream, (client) =>
      client.eventStore.streamInfo({ stream }, { timeoutMs: 900 }),
    );
    return { stream, info, error: undefined };
  } catch (reason) {
    return { stream, info: undefined, error: describeError(reason) };
  }
}

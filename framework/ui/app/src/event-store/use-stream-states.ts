/// <reference lib="dom" />
import { Code, ConnectError } from "@connectrpc/connect";
import { useEffect, useRef, useState } from "preact/hooks";
import type { StreamInfoResponse } from "../../gen/eventstore/v1/eventstore_pb.js";
import { describeError } from "../cluster-poller.js";
import type { NodeClients } from "../node-clients.js";
import { usePolling } from "../use-polling.js";
import type { StreamCall } from "./leader-routing.js";
import type { StreamAnswer, StreamListing, StreamState } from "./stream-states.js";
import { mergeStreamAnswers, streamsToAsk } from "./stream-states.js";

/** Streams listed at once (by name); the "Open a stream" form reaches the others. */
export const streamsListedMax = 200;
/** Streams asked one by one (StreamInfo) at once every second. */
export const streamsPolledMax = 50;
/** ListStreams walks every partition's leader: a longer bound than one StreamInfo. */
const listTimeoutMs = 2000;

/** Kept while another view is shown. */
export interface StreamMemory {
  readonly states: ReadonlyMap<string, StreamState>;
  readonly listing: StreamListing;
}

export const emptyStreamMemory: StreamMemory = {
  states: new Map(),
  listing: { source: "pending", names: [], truncated: false, error: undefined },
};

/**
 * Every second: ListStreams on the page's node (every partition's streams,
 * each with its StreamInfo), and StreamInfo of the selected stream when the
 * list does not hold it. Nodes without ListStreams (`unimplemented`): the
 * streams known to this browser, one StreamInfo each.
 */
export function useStreamStates(
  call: StreamCall,
  self: NodeClients,
  known: readonly string[],
  selected: string | undefined,
  memory: { current: StreamMemory },
): StreamMemory {
  const [current, setCurrent] = useState<StreamMemory>(memory.current);
  // The latest listing for the next round, without restarting the polling at every answer.
  const latest = useRef(current);
  latest.current = current;
  useEffect(() => {
    memory.current = current;
  }, [current]);
  usePolling(
    async () => {
      const { listing, answers: listed } = await askList(self, latest.current.listing, known);
      const listedNames = new Set(listed.map((answer) => answer.stream));
      const asked = streamsToAsk(listing, listedNames, known, selected, streamsPolledMax);
      const answers = await Promise.all(asked.map((stream) => askStream(call, stream)));
      const atMs = Date.now();
      setCurrent((previous) => ({
        listing,
        states: mergeStreamAnswers(previous.states, [...listed, ...answers], atMs),
      }));
    },
    1000,
    [call, self, known.join(","), selected],
  );
  return current;
}

async function askList(
  self: NodeClients,
  previous: StreamListing,
  known: readonly string[],
): Promise<{ listing: StreamListing; answers: StreamAnswer[] }> {
  try {
    const response = await self.eventStore.listStreams(
      { partitionId: 0, limit: streamsListedMax },
      { timeoutMs: listTimeoutMs },
    );
    const names = response.streams.map((info) => info.stream);
    return {
      listing: {
        source: "list-streams",
        names,
        truncated: response.nextAfter !== "",
        error: undefined,
      },
      answers: response.streams.map((info) => ({ stream: info.stream, info, error: undefined })),
    };
  } catch (reason) {
    const error = describeError(reason);
    if (ConnectError.from(reason).code === Code.Unimplemented) {
      return { listing: { source: "browser", names: known, truncated: false, error }, answers: [] };
    }
    return { listing: { ...previous, error }, answers: [] };
  }
}

async function askStream(call: StreamCall, stream: string): Promise<StreamAnswer> {
  try {
    const info: StreamInfoResponse = await call(stream, (client) =>
      client.eventStore.streamInfo({ stream }, { timeoutMs: 900 }),
    );
    return { stream, info, error: undefined };
  } catch (reason) {
    return { stream, info: undefined, error: describeError(reason) };
  }
}

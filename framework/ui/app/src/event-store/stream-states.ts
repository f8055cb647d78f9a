// The event store view's knowledge of its streams, from ListStreams answers
// (every stream, each with what StreamInfo tells) and StreamInfo answers (a
// stream opened by name that the list does not hold yet). Pure.
import type { StreamInfoResponse } from "../../gen/eventstore/v1/eventstore_pb.js";
import type { CountSample } from "./ingest-rate.js";
import { addSample } from "./ingest-rate.js";

export interface StreamState {
  readonly info: StreamInfoResponse | undefined;
  readonly error: string | undefined;
  readonly samples: readonly CountSample[];
}

/** Which streams the view lists, and where that list comes from. */
export interface StreamListing {
  /**
   * list-streams: the event store's ListStreams query (every stream).
   * browser: nodes without ListStreams — the streams created or opened in this browser.
   * pending: no answer yet.
   */
  readonly source: "list-streams" | "browser" | "pending";
  readonly names: readonly string[];
  /** ListStreams stopped at its limit: more streams sort after the last name. */
  readonly truncated: boolean;
  /** The last list call's error, as the server said it (the previous names stay). */
  readonly error: string | undefined;
}

export interface StreamAnswer {
  readonly stream: string;
  readonly info: StreamInfoResponse | undefined;
  readonly error: string | undefined;
}

/** Folds one round's answers in: the newest info (or the error), a count sample per answer. */
export function mergeStreamAnswers(
  previous: ReadonlyMap<string, StreamState>,
  answers: readonly StreamAnswer[],
  atMs: number,
): ReadonlyMap<string, StreamState> {
  const next = new Map(previous);
  for (const { stream, info, error } of answers) {
    const before = previous.get(stream);
    const samples = before?.samples ?? [];
    next.set(stream, {
      info: info ?? before?.info,
      error,
      samples:
        info === undefined ? samples : addSample(samples, { atMs, count: Number(info.eventCount) }),
    });
  }
  return next;
}

/** What the view needs StreamInfo for: the listed streams come with theirs. */
export function streamsToAsk(
  listing: StreamListing,
  listed: ReadonlySet<string>,
  known: readonly string[],
  selected: string | undefined,
  askedMax: number,
): string[] {
  const wanted = [
    ...(selected === undefined ? [] : [selected]),
    ...(listing.source === "list-streams" ? [] : known),
  ];
  return [...new Set(wanted)].filter((stream) => !listed.has(stream)).slice(0, askedMax);
}

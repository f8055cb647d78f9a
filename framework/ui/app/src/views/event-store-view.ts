/// <reference lib="dom" />
import { h } from "preact";
import type { ComponentChild } from "preact";
import { useState } from "preact/hooks";
import { describeError } from "../cluster-poller.js";
import { formatMicros } from "../event-store/event-rows.js";
import { ratesOf } from "../event-store/ingest-rate.js";
import {
  checkStreamName,
  loadKnownStreams,
  saveKnownStreams,
} from "../event-store/known-streams.js";
import { formatSchema } from "../event-store/schema-text.js";
import type { StreamCall } from "../event-store/leader-routing.js";
import type { StreamListing, StreamState } from "../event-store/stream-states.js";
import type { StreamMemory } from "../event-store/use-stream-states.js";
import { streamsListedMax, useStreamStates } from "../event-store/use-stream-states.js";
import type { NodeClients } from "../node-clients.js";
import { CreateStreamDialog } from "./create-stream-dialog.js";
import { StreamDetail } from "./stream-detail.js";

export interface EventStoreViewProps {
  /** Calls a stream's partition leader (following NotLeader hints). */
  readonly call: StreamCall;
  /** The page's node: it answers ListStreams (walking every partition's leader). */
  readonly self: NodeClients;
  readonly selected: string | undefined;
  /** Keeps the list, the streams' last answers and count samples while another view is shown. */
  readonly memory: { current: StreamMemory };
}

export function EventStoreView(props: EventStoreViewProps): ComponentChild {
  // Streams created or opened here: the list where the nodes have no ListStreams.
  const [known, setKnown] = useState<readonly string[]>(loadKnownStreams);
  const [creating, setCreating] = useState(false);
  const remember = (name: string): void => {
    const next = known.includes(name) ? known : [...known, name].sort();
    saveKnownStreams(next);
    setKnown(next);
  };
  const selected = props.selected;
  const { states, listing } = useStreamStates(
    props.call,
    props.self,
    known,
    selected,
    props.memory,
  );
  // A stream just created or opened shows before the next list answer holds it.
  const streams = [
    ...new Set([...listing.names, ...(selected === undefined ? [] : [selected])]),
  ];
  return h(
    "div",
    { class: "event-store" },
    h(
      "div",
      { class: "toolbar" },
      h("h2", { class: "inline" }, "Streams"),
      h("button", { type: "button", onClick: () => setCreating(true) }, "Create stream…"),
      h(OpenStreamForm, {
        onOpen: (name) => {
          remember(name);
          window.location.hash = `#events/${name}`;
        },
      }),
    ),
    h(ListingNote, { listing }),
    h(StreamsTable, { streams, states, selected, listing }),
    selected === undefined
      ? null
      : h(StreamDetail, {
          key: selected,
          call: props.call,
          stream: selected,
          info: states.get(selected)?.info,
          samples: states.get(selected)?.samples ?? [],
        }),
    creating
      ? h(CreateStreamDialog, {
          call: props.call,
          onCreated: (name) => {
            remember(name);
            window.location.hash = `#events/${name}`;
          },
          onClose: () => setCreating(false),
        })
      : null,
  );
}

function OpenStreamForm(props: { readonly onOpen: (name: string) => void }): ComponentChild {
  const [name, setName] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const open = (event: Event): void => {
    event.preventDefault();
    try {
      props.onOpen(checkStreamName(name));
      setName("");
      setError(undefined);
    } catch (reason) {
      setError(describeError(reason));
    }
  };
  return h(
    "form",
    { class: "open-stream", onSubmit: open },
    h("label", { for: "open-stream" }, "Open a stream "),
    h("input", {
      id: "open-stream",
      value: name,
      placeholder: "name",
      autoComplete: "off",
      onInput: (event: Event) =>
        setName(event.currentTarget instanceof HTMLInputElement ? event.currentTarget.value : ""),
    }),
    h("button", { type: "submit" }, "Open"),
    error === undefined ? null : h("span", { class: "error-text", role: "alert" }, error),
  );
}

interface StreamsTableProps {
  readonly streams: readonly string[];
  readonly states: ReadonlyMap<string, StreamState>;
  readonly selected: string | undefined;
  readonly listing: StreamListing;
}

function ListingNote(props: { readonly listing: StreamListing }): ComponentChild {
  const { listing } = props;
  const text =
    listing.source === "list-streams"
      ? `every stream, by name (ListStreams on this node)` +
        (listing.truncated ? `: the first ${streamsListedMax}; open the others by name` : "")
      : listing.source === "browser"
        ? "the streams created or opened in this browser (the nodes do not serve ListStreams)"
        : "asking for the streams…";
  return h(
    "p",
    { class: "muted", "data-testid": "stream-source", "data-source": listing.source },
    text,
    listing.error === undefined
      ? null
      : h("span", { class: "error-text" }, ` · last list call: ${listing.error}`),
  );
}

function StreamsTable(props: StreamsTableProps): ComponentChild {
  if (props.streams.length === 0) {
    return h(
      "p",
      { class: "muted" },
      props.listing.source === "list-streams"
        ? "No stream yet: create one."
        : "No stream known to this browser yet: create one, or open one by name.",
    );
  }
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { class: "data", "aria-label": "streams" },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          ["stream", "fields", "events", "time span (UTC)", "events/s"].map((title) =>
            h("th", { scope: "col", key: title }, title),
          ),
        ),
      ),
      h(
        "tbody",
        null,
        props.streams.map((stream) => {
          const state = props.states.get(stream);
          const info = state?.info;
          const span =
            info?.minTimestamp === undefined || info.maxTimestamp === undefined
              ? "—"
              : `${formatMicros(info.minTimestamp)} … ${formatMicros(info.maxTimestamp)}`;
          return h(
            "tr",
            {
              key: stream,
              "data-stream": stream,
              "aria-current": stream === props.selected ? "true" : undefined,
            },
            h("th", { scope: "row" }, h("a", { href: `#events/${stream}` }, stream)),
            h(
              "td",
              null,
              info === undefined ? "—" : formatSchema(info.fields),
              state?.error === undefined ? null : h("div", { class: "error-text" }, state.error),
            ),
            h(
              "td",
              { class: "number", "data-testid": `count-${stream}` },
              info === undefined ? "—" : String(info.eventCount),
            ),
            h("td", null, span),
            h(
              "td",
              { class: "number" },
              (ratesOf(state?.samples ?? []).at(-1)?.eventsPerSecond ?? 0).toFixed(1),
            ),
          );
        }),
      ),
    ),
  );
}

/// <reference lib="dom" />
import { h } from "preact";
import type { ComponentChild } from "preact";
import { useState } from "preact/hooks";
import type { StreamInfoResponse } from "../../gen/eventstore/v1/eventstore_pb.js";
import { describeError } from "../cluster-poller.js";
import type { EventTable } from "../event-store/event-rows.js";
import { eventTableOf } from "../event-store/event-rows.js";
import type { CountSample } from "../event-store/ingest-rate.js";
import { ratesOf } from "../event-store/ingest-rate.js";
import type { StreamCall } from "../event-store/leader-routing.js";
import { usePolling } from "../use-polling.js";
import { IngestChart } from "./charts.js";
import { EventsTable } from "./event-table.js";
import { QueryPanel } from "./query-panel.js";

const latestEventsShown = 20;

export interface StreamDetailProps {
  readonly call: StreamCall;
  readonly stream: string;
  readonly info: StreamInfoResponse | undefined;
  readonly samples: readonly CountSample[];
}

/** One stream: its ingest rate, its newest events (polled every second) and the query form. */
export function StreamDetail(props: StreamDetailProps): ComponentChild {
  const [latest, setLatest] = useState<EventTable>({ columns: [], rows: [] });
  const [error, setError] = useState<string | undefined>(undefined);
  usePolling(
    async () => {
      try {
        const request = { stream: props.stream, descending: true, limit: latestEventsShown };
        const response = await props.call(props.stream, (client) =>
          client.eventStore.queryRange(request, { timeoutMs: 900 }),
        );
        setLatest(eventTableOf(response.events));
        setError(undefined);
      } catch (reason) {
        setError(describeError(reason));
      }
    },
    1000,
    [props.call, props.stream],
  );
  const rates = ratesOf(props.samples);
  const current = rates.at(-1)?.eventsPerSecond ?? 0;
  return h(
    "section",
    { class: "stream-detail", "aria-label": `stream ${props.stream}` },
    h("h2", null, `Stream ${props.stream}`),
    h(
      "h3",
      null,
      "Ingest rate ",
      h(
        "span",
        { class: "muted", "data-testid": "ingest-rate" },
        `${current.toFixed(1)} events/s now`,
      ),
    ),
    h(IngestChart, {
      points: rates,
      label: `events per second of ${props.stream} over the last minutes`,
    }),
    h("h3", null, "Latest events"),
    error === undefined ? null : h("p", { class: "error-text", role: "alert" }, error),
    h(EventsTable, { table: latest, label: "latest events" }),
    h(QueryPanel, { call: props.call, info: props.info, stream: props.stream }),
  );
}

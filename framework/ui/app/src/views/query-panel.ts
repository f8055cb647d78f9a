/// <reference lib="dom" />
import { h } from "preact";
import type { ComponentChild } from "preact";
import { useState } from "preact/hooks";
import type {
  AggregateResponse,
  StreamInfoResponse,
  Window,
} from "../../gen/eventstore/v1/eventstore_pb.js";
import { describeError } from "../cluster-poller.js";
import { candlesOf } from "../event-store/candles.js";
import type { EventTable } from "../event-store/event-rows.js";
import {
  eventTableOf,
  formatMicros,
  formatValue,
  parseTimeInput,
} from "../event-store/event-rows.js";
import type { StreamCall } from "../event-store/leader-routing.js";
import { CandleChart } from "./charts.js";
import { EventsTable } from "./event-table.js";

type QueryKind = "range" | "aggregate" | "windows";
type Result =
  | { readonly kind: "range"; readonly table: EventTable }
  | { readonly kind: "aggregate"; readonly aggregate: AggregateResponse }
  | { readonly kind: "windows"; readonly windows: readonly Window[]; readonly field: string };

const widths: ReadonlyArray<readonly [string, bigint]> = [
  ["1 s", 1_000_000n],
  ["10 s", 10_000_000n],
  ["1 min", 60_000_000n],
  ["5 min", 300_000_000n],
  ["1 h", 3_600_000_000n],
];

export interface QueryPanelProps {
  readonly call: StreamCall;
  readonly info: StreamInfoResponse | undefined;
  readonly stream: string;
}

/** Range scans, aggregates and windowed aggregates (OHLC) of one stream: tables and a chart. */
export function QueryPanel(props: QueryPanelProps): ComponentChild {
  const aggregated =
    props.info?.fields.filter((field) => field.aggregated).map((field) => field.name) ?? [];
  const [kind, setKind] = useState<QueryKind>("windows");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [width, setWidth] = useState("1 s");
  const [field, setField] = useState("");
  const [result, setResult] = useState<Result | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const chosenField = aggregated.includes(field) ? field : (aggregated[0] ?? "");
  const run = async (): Promise<Result> => {
    const range = {
      stream: props.stream,
      from: parseTimeInput(from, "from"),
      to: parseTimeInput(to, "to"),
    };
    const options = { timeoutMs: 10_000 };
    if (kind === "range") {
      const response = await props.call(props.stream, (client) =>
        client.eventStore.queryRange({ ...range, limit: 1000 }, options),
      );
      return { kind, table: eventTableOf(response.events) };
    }
    if (kind === "aggregate")
      return {
        kind,
        aggregate: await props.call(props.stream, (client) =>
          client.eventStore.aggregate(range, options),
        ),
      };
    if (chosenField === "") throw new Error("windows: the stream has no aggregated field to chart");
    const widthMicros = widths.find(([label]) => label === width)?.[1] ?? 1_000_000n;
    const request = { ...range, width: widthMicros, limit: 1000 };
    const response = await props.call(props.stream, (client) =>
      client.eventStore.aggregateWindows(request, options),
    );
    return { kind, windows: response.windows, field: chosenField };
  };
  const submit = (event: Event): void => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    run()
      .then(setResult, (reason: unknown) => setError(describeError(reason)))
      .finally(() => setBusy(false));
  };
  return h(
    "section",
    { class: "query", "aria-label": "query" },
    h("h3", null, "Query"),
    h(
      "form",
      { class: "query-form", onSubmit: submit },
      labelled(
        "query-kind",
        "Query",
        h(
          "select",
          {
            id: "query-kind",
            value: kind,
            onChange: (event: Event) => setKind(kindOf(valueOf(event))),
          },
          h("option", { value: "range" }, "events in range"),
          h("option", { value: "aggregate" }, "aggregate"),
          h("option", { value: "windows" }, "windows (OHLC)"),
        ),
      ),
      labelled(
        "query-from",
        "From (UTC or µs)",
        h("input", {
          id: "query-from",
          value: from,
          placeholder: "oldest",
          onInput: (event: Event) => setFrom(valueOf(event)),
        }),
      ),
      labelled(
        "query-to",
        "To (exclusive)",
        h("input", {
          id: "query-to",
          value: to,
          placeholder: "newest",
          onInput: (event: Event) => setTo(valueOf(event)),
        }),
      ),
      kind !== "windows"
        ? null
        : labelled(
            "query-width",
            "Window",
            h(
              "select",
              {
                id: "query-width",
                value: width,
                onChange: (event: Event) => setWidth(valueOf(event)),
              },
              widths.map(([label]) => h("option", { key: label, value: label }, label)),
            ),
          ),
      kind !== "windows"
        ? null
        : labelled(
            "query-field",
            "Field",
            h(
              "select",
              {
                id: "query-field",
                value: chosenField,
                onChange: (event: Event) => setField(valueOf(event)),
              },
              aggregated.map((name) => h("option", { key: name, value: name }, name)),
            ),
          ),
      h("button", { type: "submit", class: "primary", disabled: busy }, "Run"),
    ),
    error === undefined ? null : h("p", { class: "error-text", role: "alert" }, error),
    result === undefined ? null : QueryResult(result),
  );
}

function QueryResult(result: Result): ComponentChild {
  if (result.kind === "range") {
    return h(
      "div",
      null,
      h("p", { class: "muted" }, `${result.table.rows.length} events (at most 1000 shown)`),
      h(EventsTable, { table: result.table, label: "query result" }),
    );
  }
  if (result.kind === "aggregate") return AggregateTable(result.aggregate);
  let chart: ComponentChild;
  try {
    chart = h(CandleChart, {
      candles: candlesOf(result.windows, result.field),
      label: `candles of ${result.field}`,
    });
  } catch (error) {
    chart = h("p", { class: "error-text" }, describeError(error));
  }
  return h(
    "div",
    null,
    h(
      "p",
      { class: "muted" },
      `${result.windows.length} windows with events; OHLC of ${result.field}`,
    ),
    chart,
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "data", "aria-label": "windows" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            ["window start (UTC)", "count", "open", "high", "low", "close"].map((title) =>
              h("th", { scope: "col", key: title }, title),
            ),
          ),
        ),
        h(
          "tbody",
          null,
          result.windows.map((window) => {
            const values = window.aggregate?.fields.find(
              (candidate) => candidate.name === result.field,
            );
            return h(
              "tr",
              { key: String(window.start) },
              h("td", null, formatMicros(window.start)),
              h("td", { class: "number" }, String(window.aggregate?.count ?? 0n)),
              [values?.first, values?.max, values?.min, values?.last].map((value, index) =>
                h(
                  "td",
                  { key: index, class: "number" },
                  value === undefined ? "—" : formatValue(value),
                ),
              ),
            );
          }),
        ),
      ),
    ),
  );
}

function AggregateTable(aggregate: AggregateResponse): ComponentChild {
  const span =
    aggregate.firstTimestamp === undefined || aggregate.lastTimestamp === undefined
      ? "—"
      : `${formatMicros(aggregate.firstTimestamp)} … ${formatMicros(aggregate.lastTimestamp)}`;
  return h(
    "div",
    { class: "scroll" },
    h("p", null, h("strong", null, `${aggregate.count} events`), ` · ${span}`),
    h(
      "table",
      { class: "data", "aria-label": "aggregate" },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          ["field", "sum", "min", "max", "average", "first", "last"].map((title) =>
            h("th", { scope: "col", key: title }, title),
          ),
        ),
      ),
      h(
        "tbody",
        null,
        aggregate.fields.map((field) =>
          h(
            "tr",
            { key: field.name },
            h("th", { scope: "row" }, field.name),
            [field.sum, field.min, field.max, field.average, field.first, field.last].map(
              (value, index) => h("td", { key: index, class: "number" }, formatValue(value)),
            ),
          ),
        ),
      ),
    ),
  );
}

function labelled(id: string, text: string, control: ComponentChild): ComponentChild {
  return h("div", { class: "field" }, h("label", { for: id }, text), control);
}

function kindOf(value: string): QueryKind {
  return value === "range" || value === "aggregate" ? value : "windows";
}

function valueOf(event: Event): string {
  const target = event.currentTarget;
  return target instanceof HTMLInputElement || target instanceof HTMLSelectElement
    ? target.value
    : "";
}

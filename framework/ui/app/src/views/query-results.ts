/// <reference lib="dom" />
import { h } from "preact";
import type { ComponentChild } from "preact";
import type { AggregateResponse, Window } from "../../gen/eventstore/v1/eventstore_pb.js";
import { describeError } from "../cluster-poller.js";
import { candlesOf } from "../event-store/candles.js";
import type { EventTable } from "../event-store/event-rows.js";
import { formatMicros, formatValue } from "../event-store/event-rows.js";
import { CandleChart } from "./charts.js";
import { EventsTable } from "./event-table.js";

export type QueryResult =
  | { readonly kind: "range"; readonly table: EventTable }
  | { readonly kind: "aggregate"; readonly aggregate: AggregateResponse }
  | { readonly kind: "windows"; readonly windows: readonly Window[]; readonly field: string };

/** A query's answer: events as a table, an aggregate as a table, windows as candles and a table. */
export function QueryResultView(result: QueryResult): ComponentChild {
  if (result.kind === "range") {
    return h(
      "div",
      null,
      h("p", { class: "muted" }, `${result.table.rows.length} events (at most 1000 shown)`),
      h(EventsTable, { table: result.table, label: "query result" }),
    );
  }
  if (result.kind === "aggregate") return AggregateTable(result.aggregate);
  return WindowsResult(result.windows, result.field);
}

function headerRow(titles: readonly string[]): ComponentChild {
  return h(
    "thead",
    null,
    h(
      "tr",
      null,
      titles.map((title) => h("th", { scope: "col", key: title }, title)),
    ),
  );
}

function WindowsResult(windows: readonly Window[], field: string): ComponentChild {
  let chart: ComponentChild;
  try {
    chart = h(CandleChart, { candles: candlesOf(windows, field), label: `candles of ${field}` });
  } catch (error) {
    chart = h("p", { class: "error-text" }, describeError(error));
  }
  const rows = windows.map((window) => {
    const values = window.aggregate?.fields.find((candidate) => candidate.name === field);
    return h(
      "tr",
      { key: String(window.start) },
      h("td", null, formatMicros(window.start)),
      h("td", { class: "number" }, String(window.aggregate?.count ?? 0n)),
      [values?.first, values?.max, values?.min, values?.last].map((value, index) =>
        h("td", { key: index, class: "number" }, value === undefined ? "—" : formatValue(value)),
      ),
    );
  });
  return h(
    "div",
    null,
    h("p", { class: "muted" }, `${windows.length} windows with events; OHLC of ${field}`),
    chart,
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "data", "aria-label": "windows" },
        headerRow(["window start (UTC)", "count", "open", "high", "low", "close"]),
        h("tbody", null, rows),
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
      headerRow(["field", "sum", "min", "max", "average", "first", "last"]),
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

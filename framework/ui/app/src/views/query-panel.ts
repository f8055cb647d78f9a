/// <reference lib="dom" />
import { h } from "preact";
import type { ComponentChild } from "preact";
import { useState } from "preact/hooks";
import type { StreamInfoResponse } from "../../gen/eventstore/v1/eventstore_pb.js";
import { describeError } from "../cluster-poller.js";
import { eventTableOf, parseTimeInput } from "../event-store/event-rows.js";
import type { StreamCall } from "../event-store/leader-routing.js";
import type { QueryResult } from "./query-results.js";
import { QueryResultView } from "./query-results.js";

type QueryKind = "range" | "aggregate" | "windows";

interface QueryForm {
  readonly kind: QueryKind;
  readonly from: string;
  readonly to: string;
  readonly width: string;
  /** An aggregated field of the stream (windows only). */
  readonly field: string;
}

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
  const [form, setForm] = useState<QueryForm>({
    kind: "windows",
    from: "",
    to: "",
    width: "1 s",
    field: "",
  });
  const [result, setResult] = useState<QueryResult | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const chosen = {
    ...form,
    field: aggregated.includes(form.field) ? form.field : (aggregated[0] ?? ""),
  };
  const submit = (event: Event): void => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    runQuery(props.call, props.stream, chosen)
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
      QueryFields(chosen, aggregated, (change) => setForm({ ...chosen, ...change })),
      h("button", { type: "submit", class: "primary", disabled: busy }, "Run"),
    ),
    error === undefined ? null : h("p", { class: "error-text", role: "alert" }, error),
    result === undefined ? null : QueryResultView(result),
  );
}

async function runQuery(call: StreamCall, stream: string, form: QueryForm): Promise<QueryResult> {
  const range = {
    stream,
    from: parseTimeInput(form.from, "from"),
    to: parseTimeInput(form.to, "to"),
  };
  const options = { timeoutMs: 10_000 };
  if (form.kind === "range") {
    const request = { ...range, limit: 1000 };
    const response = await call(stream, (client) => client.eventStore.queryRange(request, options));
    return { kind: "range", table: eventTableOf(response.events) };
  }
  if (form.kind === "aggregate") {
    const aggregate = await call(stream, (client) => client.eventStore.aggregate(range, options));
    return { kind: "aggregate", aggregate };
  }
  if (form.field === "") throw new Error("windows: the stream has no aggregated field to chart");
  const width = widths.find(([label]) => label === form.width)?.[1] ?? 1_000_000n;
  const request = { ...range, width, limit: 1000 };
  const response = await call(stream, (client) =>
    client.eventStore.aggregateWindows(request, options),
  );
  return { kind: "windows", windows: response.windows, field: form.field };
}

function QueryFields(
  form: QueryForm,
  aggregated: readonly string[],
  change: (change: Partial<QueryForm>) => void,
): ComponentChild[] {
  const fields = [
    labelled(
      "query-kind",
      "Query",
      select(
        "query-kind",
        form.kind,
        [
          ["range", "events in range"],
          ["aggregate", "aggregate"],
          ["windows", "windows (OHLC)"],
        ],
        (value) => change({ kind: kindOf(value) }),
      ),
    ),
    labelled(
      "query-from",
      "From (UTC or µs)",
      h("input", {
        id: "query-from",
        value: form.from,
        placeholder: "oldest",
        onInput: (event: Event) => change({ from: valueOf(event) }),
      }),
    ),
    labelled(
      "query-to",
      "To (exclusive)",
      h("input", {
        id: "query-to",
        value: form.to,
        placeholder: "newest",
        onInput: (event: Event) => change({ to: valueOf(event) }),
      }),
    ),
  ];
  if (form.kind !== "windows") return fields;
  return [
    ...fields,
    labelled(
      "query-width",
      "Window",
      select(
        "query-width",
        form.width,
        widths.map(([label]) => [label, label]),
        (value) => change({ width: value }),
      ),
    ),
    labelled(
      "query-field",
      "Field",
      select(
        "query-field",
        form.field,
        aggregated.map((name) => [name, name]),
        (value) => change({ field: value }),
      ),
    ),
  ];
}

/** A labelled-by-id select of (value, text) options. */
function select(
  id: string,
  value: string,
  options: ReadonlyArray<readonly [string, string]>,
  onChange: (value: string) => void,
): ComponentChild {
  return h(
    "select",
    { id, value, onChange: (event: Event) => onChange(valueOf(event)) },
    options.map(([optionValue, text]) =>
      h("option", { key: optionValue, value: optionValue }, text),
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

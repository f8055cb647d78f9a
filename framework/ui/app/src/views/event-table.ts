/// <reference lib="dom" />
import { h } from "preact";
import type { ComponentChild } from "preact";
import type { EventTable } from "../event-store/event-rows.js";
import { formatMicros } from "../event-store/event-rows.js";

export function EventsTable(props: {
  readonly table: EventTable;
  readonly label: string;
}): ComponentChild {
  const { table } = props;
  const hasIds = table.rows.some((row) => row.id !== "");
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { class: "data", "aria-label": props.label },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", { scope: "col" }, "timestamp (UTC)"),
          hasIds ? h("th", { scope: "col" }, "id") : null,
          table.columns.map((column) => h("th", { scope: "col", key: column }, column)),
        ),
      ),
      h(
        "tbody",
        null,
        table.rows.map((row, index) =>
          h(
            "tr",
            { key: index },
            h("td", null, formatMicros(row.timestampMicros)),
            hasIds ? h("td", null, row.id) : null,
            row.values.map((value, column) => h("td", { key: column, class: "number" }, value)),
          ),
        ),
      ),
    ),
  );
}

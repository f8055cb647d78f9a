/// <reference lib="dom" />
import { h } from "preact";
import type { ComponentChild } from "preact";
import { useState } from "preact/hooks";
import { checkStreamName } from "../event-store/known-streams.js";
import { parseSchemaText } from "../event-store/schema-text.js";
import type { StreamCall } from "../event-store/leader-routing.js";
import { ConfirmDialog } from "./confirm-dialog.js";

export interface CreateStreamDialogProps {
  readonly call: StreamCall;
  readonly onCreated: (stream: string) => void;
  readonly onClose: () => void;
}

/** EventStoreService.CreateStream behind a confirmation; bad input is named before sending. */
export function CreateStreamDialog(props: CreateStreamDialogProps): ComponentChild {
  const [name, setName] = useState("");
  const [fields, setFields] = useState("price:double:aggregated, volume:int64:aggregated");
  const create = async (): Promise<string> => {
    const stream = checkStreamName(name);
    const request = { stream, fields: parseSchemaText(fields) };
    const response = await props.call(stream, (client) =>
      client.eventStore.createStream(request, { timeoutMs: 10_000 }),
    );
    props.onCreated(stream);
    return response.created
      ? `stream ${stream} created`
      : `stream ${stream} already existed with this schema`;
  };
  return h(ConfirmDialog, {
    title: "Create a stream",
    confirmLabel: "Create",
    onConfirm: create,
    onClose: props.onClose,
    children: [
      h(
        "div",
        { class: "field" },
        h("label", { for: "stream-name" }, "Stream name"),
        h("input", {
          id: "stream-name",
          required: true,
          value: name,
          autoComplete: "off",
          onInput: (event: Event) => setName(valueOf(event)),
        }),
      ),
      h(
        "div",
        { class: "field" },
        h("label", { for: "stream-fields" }, "Fields (name:type[:aggregated], comma separated)"),
        h("textarea", {
          id: "stream-fields",
          rows: 3,
          value: fields,
          onInput: (event: Event) => setFields(valueOf(event)),
        }),
      ),
      h(
        "p",
        { class: "muted" },
        "Types: int64, double, bool, string. Aggregated int64/double fields keep sum, min, max, " +
          "first and last in the aggregate index.",
      ),
    ],
  });
}

function valueOf(event: Event): string {
  const target = event.currentTarget;
  return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement
    ? target.value
    : "";
}

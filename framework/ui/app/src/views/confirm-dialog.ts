/// <reference lib="dom" />
import { h } from "preact";
import type { ComponentChild, ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { describeError } from "../cluster-poller.js";

export interface ConfirmDialogProps {
  readonly title: string;
  /** The form fields and what the action will do. */
  readonly children: ComponentChildren;
  readonly confirmLabel: string;
  /** Runs the action; its resolved text is shown as the outcome, an error as the server said it. */
  readonly onConfirm: () => Promise<string>;
  readonly onClose: () => void;
}

/**
 * A modal confirmation (the native <dialog>: focus stays inside, Escape
 * closes). Every action of the UI goes through one.
 */
export function ConfirmDialog(props: ConfirmDialogProps): ComponentChild {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<
    { readonly ok: boolean; readonly text: string } | undefined
  >(undefined);
  useEffect(() => {
    const element = dialog.current;
    if (element !== null && !element.open) element.showModal();
  }, []);
  const confirm = (event: Event): void => {
    event.preventDefault();
    setBusy(true);
    props
      .onConfirm()
      .then(
        (text) => setOutcome({ ok: true, text }),
        (error: unknown) => setOutcome({ ok: false, text: describeError(error) }),
      )
      .finally(() => setBusy(false));
  };
  return h(
    "dialog",
    { ref: dialog, class: "confirm", onClose: props.onClose, "aria-labelledby": "dialog-title" },
    h(
      "form",
      { onSubmit: confirm },
      h("h2", { id: "dialog-title" }, props.title),
      props.children,
      outcome === undefined
        ? null
        : h(
            "p",
            { class: outcome.ok ? "outcome ok" : "outcome error-text", role: "status" },
            outcome.text,
          ),
      h(
        "div",
        { class: "buttons" },
        h(
          "button",
          { type: "button", onClick: () => dialog.current?.close() },
          outcome?.ok ? "Close" : "Cancel",
        ),
        outcome?.ok
          ? null
          : h("button", { type: "submit", class: "primary", disabled: busy }, props.confirmLabel),
      ),
    ),
  );
}

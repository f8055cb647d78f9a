/// <reference lib="dom" />
// The streams this browser knows (created or opened here), kept in
// localStorage: the event store has no call that lists every stream yet.

const storageKey = "raftkit.ui.streams";
// The event store's rule for users' streams (names starting with "_" are its own).
const streamNamePattern = /^[A-Za-z0-9.-][A-Za-z0-9_.-]{0,63}$/;

export function loadKnownStreams(): string[] {
  try {
    const stored: unknown = JSON.parse(window.localStorage.getItem(storageKey) ?? "[]");
    return Array.isArray(stored)
      ? stored.filter((name): name is string => typeof name === "string")
      : [];
  } catch {
    // A corrupt entry (edited by hand) starts the list afresh.
    return [];
  }
}

export function saveKnownStreams(names: readonly string[]): void {
  window.localStorage.setItem(storageKey, JSON.stringify(names));
}

/** Throws naming the bad name; the server checks again. */
export function checkStreamName(name: string): string {
  const trimmed = name.trim();
  if (!streamNamePattern.test(trimmed)) {
    throw new Error(
      `stream name "${name}": allowed 1 to 64 of A-Z a-z 0-9 _ . - (not starting with _)`,
    );
  }
  return trimmed;
}

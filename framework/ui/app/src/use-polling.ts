/// <reference lib="dom" />
import { useEffect } from "preact/hooks";

/**
 * Calls `poll` now and every `intervalMs` while the component is shown; a call
 * still running when the next is due is not doubled (at most one in flight).
 */
export function usePolling(
  poll: () => Promise<void>,
  intervalMs: number,
  dependencies: readonly unknown[],
): void {
  useEffect(() => {
    let running = false;
    let stopped = false;
    const tick = (): void => {
      if (running || stopped) return;
      running = true;
      poll().finally(() => (running = false));
    };
    tick();
    const timer = window.setInterval(tick, intervalMs);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, dependencies);
}

import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import type { Logger } from "../../../framework/transport/index.js";

export interface LoopStallMonitor {
  stop(): void;
}

/**
 * Logs (warn) each second in which this process's event loop was blocked
 * longer than `thresholdMs` at once, with the garbage collections of that
 * second that took longer than 50 ms. A node whose loop stops for an election
 * timeout looks dead to its peers (issue #8, overload): this names when and
 * how long, so a node log tells a stall apart from a lost message.
 */
export function startLoopStallMonitor(logger: Logger, thresholdMs = 250): LoopStallMonitor {
  if (!(Number.isFinite(thresholdMs) && thresholdMs > 0)) {
    throw new RangeError(`loop stall threshold ${thresholdMs} ms, allowed > 0`);
  }
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let collections: { kind: number; ms: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.duration >= 50) collections.push({ kind: gcKindOf(entry), ms: Math.round(entry.duration) });
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  const timer = setInterval(() => {
    const maxMs = histogram.max / 1e6;
    if (maxMs >= thresholdMs) {
      logger.warn("event loop stalled", {
        maxMs: Math.round(maxMs),
        p99Ms: Math.round(histogram.percentile(99) / 1e6),
        longGcs: JSON.stringify(collections),
      });
    }
    collections = [];
    histogram.reset();
  }, 1000);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      observer.disconnect();
      histogram.disable();
    },
  };
}

/** The kind of a GC entry (perf_hooks' NODE_PERFORMANCE_GC_*: 1 minor, 4 major, 8 incremental, 16 weak callbacks; 0 unknown). */
function gcKindOf(entry: PerformanceEntry): number {
  // Node's GC entries carry { detail: { kind } }; its typings do not declare it on PerformanceEntry.
  const detail: unknown = Reflect.get(entry, "detail");
  if (typeof detail !== "object" || detail === null || !("kind" in detail)) return 0;
  return typeof detail.kind === "number" ? detail.kind : 0;
}

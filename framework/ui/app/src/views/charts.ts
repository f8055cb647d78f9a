/// <reference lib="dom" />
// lightweight-charts inside Preact: the chart is made once per element and
// fed new data on every render.
import { h } from "preact";
import type { ComponentChild, RefObject } from "preact";
import { useEffect, useRef } from "preact/hooks";
import type { IChartApi, ISeriesApi, UTCTimestamp } from "lightweight-charts";
import { CandlestickSeries, createChart, HistogramSeries } from "lightweight-charts";
import type { Candle } from "../event-store/candles.js";
import type { RatePoint } from "../event-store/ingest-rate.js";

/**
 * UTCTimestamp is the library's branded number of whole seconds; its docs make
 * one by a cast, which this one place does (after checking the value).
 */
function utcTimestamp(seconds: number): UTCTimestamp {
  if (!Number.isSafeInteger(seconds))
    throw new RangeError(`chart time ${seconds}: whole seconds only`);
  return seconds as UTCTimestamp;
}

function chartColors(): { text: string; grid: string } {
  const dark = window.matchMedia("(prefers-color-scheme: dark)").matches;
  return dark ? { text: "#9aa5b1", grid: "#2e3742" } : { text: "#5b6672", grid: "#e3e7ec" };
}

function useChart<T extends "Candlestick" | "Histogram">(
  make: (chart: IChartApi) => ISeriesApi<T>,
): {
  readonly container: RefObject<HTMLDivElement>;
  readonly series: RefObject<ISeriesApi<T> | null>;
  readonly chart: RefObject<IChartApi | null>;
} {
  const container = useRef<HTMLDivElement>(null);
  const series = useRef<ISeriesApi<T> | null>(null);
  const chartRef = useRef<IChartApi | null>(null);
  useEffect(() => {
    if (container.current === null) return undefined;
    const colors = chartColors();
    const chart = createChart(container.current, {
      autoSize: true,
      layout: {
        background: { color: "transparent" },
        textColor: colors.text,
        attributionLogo: false,
      },
      grid: { vertLines: { color: colors.grid }, horzLines: { color: colors.grid } },
      timeScale: { timeVisible: true, secondsVisible: true },
    });
    series.current = make(chart);
    chartRef.current = chart;
    return () => {
      series.current = null;
      chartRef.current = null;
      chart.remove();
    };
  }, []);
  return { container, series, chart: chartRef };
}

/** Events per second over the last minutes, as bars. */
export function IngestChart(props: {
  readonly points: readonly RatePoint[];
  readonly label: string;
}): ComponentChild {
  const { container, series, chart } = useChart((made) =>
    made.addSeries(HistogramSeries, { color: "#1f5fbf" }),
  );
  useEffect(() => {
    // One bar per second: the chart's time scale counts whole seconds.
    const bySecond = new Map<number, number>();
    for (const point of props.points)
      bySecond.set(Math.floor(point.atMs / 1000), point.eventsPerSecond);
    // UTCTimestamp is the library's branded number of seconds: the cast is how its docs build one.
    series.current?.setData(
      [...bySecond].map(([time, value]) => ({ time: utcTimestamp(time), value })),
    );
    chart.current?.timeScale().fitContent();
  }, [props.points]);
  return h("div", { class: "chart", ref: container, role: "img", "aria-label": props.label });
}

export function CandleChart(props: {
  readonly candles: readonly Candle[];
  readonly label: string;
}): ComponentChild {
  const { container, series, chart } = useChart((made) => made.addSeries(CandlestickSeries));
  useEffect(() => {
    series.current?.setData(
      props.candles.map((candle) => ({ ...candle, time: utcTimestamp(candle.time) })),
    );
    chart.current?.timeScale().fitContent();
  }, [props.candles]);
  return h("div", {
    class: "chart",
    ref: container,
    role: "img",
    "aria-label": props.label,
    "data-candles": props.candles.length,
  });
}

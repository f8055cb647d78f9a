import type { EventColumns } from "../client/index.js";

/** The demo stream's fields: trades of a few symbols on a few venues. */
export const tradeFields = [
  { name: "price", type: "double", aggregated: true },
  { name: "size", type: "int64", aggregated: true },
  { name: "symbol", type: "string" },
  { name: "buy", type: "bool" },
] as const;

const symbols = ["ACME", "GLOBX", "INITECH", "UMBRL", "HOOLI"];

/**
 * A synthetic market-data feed: per symbol a random walk of prices, trades
 * spread evenly over each batch's time slice, a few arriving late. Seeded
 * (xorshift) so a run can be repeated.
 */
export function createMarketData(seed = 1): (fromMicros: number, toMicros: number, count: number) => EventColumns {
  let state = seed >>> 0 || 1;
  const uniform = (): number => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
  const prices = symbols.map((_, index) => 100 + 25 * index);
  return (fromMicros, toMicros, count) => {
    const timestamps = new Array<number>(count);
    const price = new Array<number>(count);
    const size = new Array<number>(count);
    const symbol = new Array<string>(count);
    const buy = new Array<boolean>(count);
    const step = Math.max(1, Math.floor((toMicros - fromMicros) / Math.max(1, count)));
    for (let row = 0; row < count; row++) {
      const which = Math.floor(uniform() * symbols.length);
      prices[which] = Math.max(1, prices[which]! * (1 + (uniform() - 0.5) * 0.002));
      // One in fifty trades is reported up to 50 ms late.
      const late = uniform() < 0.02 ? Math.floor(uniform() * 50_000) : 0;
      timestamps[row] = fromMicros + row * step - late;
      price[row] = Math.round(prices[which]! * 100) / 100;
      size[row] = 1 + Math.floor(uniform() * 500);
      symbol[row] = symbols[which]!;
      buy[row] = uniform() < 0.5;
    }
    return { timestamps, columns: { price, size, symbol, buy } };
  };
}

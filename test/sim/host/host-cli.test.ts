import { describe, expect, it } from "vitest";
import {
  HostCliUsageError,
  hostReplayCommand,
  hostRunOptions,
  parseHostCliOptions,
} from "./host-cli-options.js";

describe("sim:host command line", () => {
  it("replays one seed with --seed alone; the replay command names every forced option", () => {
    const options = parseHostCliOptions([
      "--seed",
      "42",
      "--groups",
      "7",
      "--mix",
      "chaos",
      "--quiesce",
      "off",
      "--durable-machines",
      "on",
    ]);
    expect(options.seeds).toBe(1);
    expect(hostReplayCommand(42, options)).toBe(
      "npm run sim:host -- --seed 42 --groups 7 --mix chaos --quiesce off --durable-machines on",
    );
    expect(parseHostCliOptions([]).seeds).toBe(20);
    expect(parseHostCliOptions(["--seeds", "5"]).seed).toBe(1);
  });

  it("passes every forced option to the simulation, and nothing else", () => {
    const forced = parseHostCliOptions([
      "--seeds",
      "3",
      "--nodes",
      "4",
      "--groups",
      "9",
      "--mix",
      "crashes",
      "--quiesce",
      "on",
      "--durable-machines",
      "off",
      "--framework-stores",
      "on",
      "--ticks",
      "700",
    ]);
    expect(hostRunOptions(forced)).toEqual({
      nodes: 4,
      groups: 9,
      mix: "crashes",
      quiesce: true,
      durableMachines: false,
      frameworkStores: true,
      safetyTicks: 700,
    });
    expect(hostRunOptions(parseHostCliOptions(["--seeds", "3"]))).toEqual({});
  });

  it("rejects bad arguments with what was wrong", () => {
    expect(() => parseHostCliOptions(["--nodes", "7"])).toThrow(/--nodes = 7, allowed \[3, 5\]/);
    expect(() => parseHostCliOptions(["--mix", "pauses"])).toThrow(/--mix "pauses", allowed/);
    expect(() => parseHostCliOptions(["--quiesce", "yes"])).toThrow(
      /--quiesce "yes", allowed on or off/,
    );
    expect(() => parseHostCliOptions(["--durable-machines"])).toThrow(
      /--durable-machines "", allowed/,
    );
    expect(() => parseHostCliOptions(["--seeds", "x"])).toThrow(HostCliUsageError);
    expect(() => parseHostCliOptions(["--bogus"])).toThrow(/unknown argument "--bogus"/);
    expect(() => parseHostCliOptions(["--seed", "1", "--seed", "2"])).toThrow(/given twice/);
  });
});

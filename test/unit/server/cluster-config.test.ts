import { describe, expect, it } from "vitest";
import { metaVotersOf } from "../../../framework/cluster/index.js";
import { resolveClusterManagerSettings } from "../../../framework/server/cluster-config.js";
import { ServerErrorCode, isServerError } from "../../../framework/server/index.js";

function refusal(given: Parameters<typeof resolveClusterManagerSettings>[0]): unknown {
  try {
    resolveClusterManagerSettings(given, true);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("cluster manager settings", () => {
  it("runs by default with peers or a join address, not alone", () => {
    expect(resolveClusterManagerSettings(undefined, true).enabled).toBe(true);
    expect(resolveClusterManagerSettings(undefined, false).enabled).toBe(false);
    expect(resolveClusterManagerSettings({ join: ["127.0.0.1:7001"] }, false).enabled).toBe(true);
    expect(resolveClusterManagerSettings({ enabled: false }, true).enabled).toBe(false);
  });

  it("names the setting of each bad value", () => {
    const cases: Array<[Parameters<typeof resolveClusterManagerSettings>[0], string]> = [
      [{ metaVoters: 2 }, "meta_voters"],
      [{ heartbeatIntervalMs: 0 }, "heartbeatIntervalMs"],
      [{ heartbeatIntervalMs: 500, suspectAfterMs: 500 }, "suspectAfterMs"],
      [{ suspectAfterMs: 3_000, deadAfterMs: 3_000 }, "deadAfterMs"],
      [{ defaultReplicationFactor: 0 }, "defaultReplicationFactor"],
      [{ join: ["127.0.0.1"] }, "join"],
    ];
    for (const [given, setting] of cases) {
      const error = refusal(given);
      expect(isServerError(error, ServerErrorCode.InvalidConfig), setting).toBe(true);
      expect(isServerError(error) ? error.setting : undefined).toBe(setting);
    }
  });
});

describe("meta voters", () => {
  it("are the lowest ids of the boot cluster, the same on every node", () => {
    expect(metaVotersOf([3, 1, 5, 2, 4], 3)).toEqual([1, 2, 3]);
    expect(metaVotersOf([4, 2, 1, 3, 5], 3)).toEqual([1, 2, 3]);
    expect(metaVotersOf([2, 1], 3)).toEqual([1, 2]);
    expect(metaVotersOf([7, 3, 9, 1, 5, 11], 5)).toEqual([1, 3, 5, 7, 9]);
    expect(() => metaVotersOf([1, 2, 3], 4)).toThrow(/meta voters 4, allowed 1, 3, 5/);
  });
});

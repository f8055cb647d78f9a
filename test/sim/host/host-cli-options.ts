import type { HostFaultMixName, HostSimulationOptions } from "./host-simulator.js";
import { hostFaultMixNames, isHostFaultMixName } from "./host-simulator.js";

/** What `npm run sim:host -- …` was asked to do. */
export interface HostCliOptions {
  /** First seed of the batch. */
  readonly seed: number;
  readonly seeds: number;
  readonly nodes: number | undefined;
  readonly groups: number | undefined;
  readonly mix: HostFaultMixName | undefined;
  readonly quiesce: boolean | undefined;
  readonly durableMachines: boolean | undefined;
  /** framework/storage's stores on a simulated file system (on) or the modelled disk (off). */
  readonly frameworkStores: boolean | undefined;
  readonly safetyTicks: number | undefined;
  /** Print every trace line (meant for replaying one seed). */
  readonly trace: boolean;
}

export const hostUsage = `usage: npm run sim:host --
                            [--seeds N] [--seed S] [--nodes 3|4|5] [--groups G]
                            [--mix ${hostFaultMixNames.join("|")}]
                            [--quiesce on|off] [--durable-machines on|off]
                            [--framework-stores on|off] [--ticks T] [--trace]
  --seeds N        number of seeds to run (default 1 with --seed, else 20)
  --seed S         first seed (default 1); alone, replays exactly that seed
  --nodes N        nodes per run (default: drawn from the seed, 3-5)
  --groups G       groups per run (default: drawn from the seed, 5-12)
  --mix NAME       force one fault mix (default: the seed picks one)
  --quiesce on|off force quiescence (default: on in every other block of seeds)
  --durable-machines on|off
                   state machines keep their state on the simulated disk (default: drawn)
  --framework-stores on|off
                   framework/storage's LogStore and SnapshotStore over a simulated
                   file system, or the modelled disk (default: drawn)
  --ticks T        client ticks (10 ms each) of the fault phase (default 300)
  --trace          print every event of the run (use with one seed)`;

export class HostCliUsageError extends Error {
  override readonly name = "HostCliUsageError";
}

function integer(flag: string, text: string | undefined, min: number, max: number): number {
  if (text === undefined || !/^\d+$/.test(text)) {
    throw new HostCliUsageError(`${flag} needs an integer, got ${JSON.stringify(text ?? "")}`);
  }
  const value = Number(text);
  if (!(value >= min && value <= max)) {
    throw new HostCliUsageError(`${flag} = ${value}, allowed [${min}, ${max}]`);
  }
  return value;
}

export function parseHostCliOptions(argv: readonly string[]): HostCliOptions {
  const values = new Map<string, string | undefined>();
  const known = [
    "--seeds",
    "--seed",
    "--nodes",
    "--groups",
    "--mix",
    "--quiesce",
    "--durable-machines",
    "--framework-stores",
    "--ticks",
    "--trace",
  ];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (!known.includes(flag))
      throw new HostCliUsageError(`unknown argument ${JSON.stringify(flag)}`);
    if (values.has(flag)) throw new HostCliUsageError(`${flag} given twice`);
    if (flag === "--trace") values.set(flag, undefined);
    else values.set(flag, argv[++i]);
  }
  const has = (flag: string): boolean => values.has(flag);
  const mix = values.get("--mix");
  if (has("--mix") && (mix === undefined || !isHostFaultMixName(mix))) {
    throw new HostCliUsageError(
      `--mix ${JSON.stringify(mix ?? "")}, allowed ${hostFaultMixNames.join(", ")}`,
    );
  }
  const quiesce = onOff("--quiesce", values);
  const durableMachines = onOff("--durable-machines", values);
  const frameworkStores = onOff("--framework-stores", values);
  return {
    seed: has("--seed") ? integer("--seed", values.get("--seed"), 0, Number.MAX_SAFE_INTEGER) : 1,
    seeds: has("--seeds")
      ? integer("--seeds", values.get("--seeds"), 1, 1_000_000)
      : has("--seed")
        ? 1
        : 20,
    nodes: has("--nodes") ? integer("--nodes", values.get("--nodes"), 3, 5) : undefined,
    groups: has("--groups") ? integer("--groups", values.get("--groups"), 1, 100) : undefined,
    mix: has("--mix") && mix !== undefined && isHostFaultMixName(mix) ? mix : undefined,
    quiesce,
    durableMachines,
    frameworkStores,
    safetyTicks: has("--ticks")
      ? integer("--ticks", values.get("--ticks"), 1, 1_000_000)
      : undefined,
    trace: has("--trace"),
  };
}

function onOff(flag: string, values: ReadonlyMap<string, string | undefined>): boolean | undefined {
  if (!values.has(flag)) return undefined;
  const value = values.get(flag);
  if (value !== "on" && value !== "off") {
    throw new HostCliUsageError(`${flag} ${JSON.stringify(value ?? "")}, allowed on or off`);
  }
  return value === "on";
}

/** The simulation options the command line forces (the rest is drawn from each seed). */
export function hostRunOptions(options: HostCliOptions): Omit<HostSimulationOptions, "seed"> {
  return {
    ...(options.nodes !== undefined ? { nodes: options.nodes } : {}),
    ...(options.groups !== undefined ? { groups: options.groups } : {}),
    ...(options.mix !== undefined ? { mix: options.mix } : {}),
    ...(options.quiesce !== undefined ? { quiesce: options.quiesce } : {}),
    ...(options.durableMachines !== undefined ? { durableMachines: options.durableMachines } : {}),
    ...(options.frameworkStores !== undefined ? { frameworkStores: options.frameworkStores } : {}),
    ...(options.safetyTicks !== undefined ? { safetyTicks: options.safetyTicks } : {}),
  };
}

/** The command that replays one run exactly. */
export function hostReplayCommand(seed: number, options: HostCliOptions): string {
  const extra = [
    options.nodes !== undefined ? ` --nodes ${options.nodes}` : "",
    options.groups !== undefined ? ` --groups ${options.groups}` : "",
    options.mix !== undefined ? ` --mix ${options.mix}` : "",
    options.quiesce !== undefined ? ` --quiesce ${options.quiesce ? "on" : "off"}` : "",
    options.durableMachines !== undefined
      ? ` --durable-machines ${options.durableMachines ? "on" : "off"}`
      : "",
    options.frameworkStores !== undefined
      ? ` --framework-stores ${options.frameworkStores ? "on" : "off"}`
      : "",
    options.safetyTicks !== undefined ? ` --ticks ${options.safetyTicks}` : "",
  ].join("");
  return `npm run sim:host -- --seed ${seed}${extra}`;
}

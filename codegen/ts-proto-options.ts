/**
 * How ts-proto renders the user's messages (one model per message; see
 * docs/codegen.md for why each is chosen).
 */
export const tsProtoOptions: readonly string[] = [
  // ESM with `.js` suffixes on relative imports, as the rest of raftkit (NodeNext).
  "esModuleInterop=true",
  "importSuffix=.js",
  // Services are raftkit's business (descriptors, executors, clients), not ts-proto's.
  "outputServices=false",
  // 64-bit integers as bigint: no silent precision loss above 2^53.
  "forceLong=bigint",
  // fromPartial accepts plain partial objects without exact-type gymnastics.
  "useExactTypes=false",
  // Keep each generated module's public surface to its messages.
  "exportCommonSymbols=false",
];

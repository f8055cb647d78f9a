#!/usr/bin/env node
// The `raftkit` bin: runs the TypeScript entry through tsx (a dependency), so
// `npx raftkit …` works without a build step.
import { register } from "tsx/esm/api";

register();
await import("./main.ts");

#!/usr/bin/env node
// protoc-gen-raftkit: the raftkit protoc plugin, for buf.gen.yaml
// (`local: node_modules/raftkit/codegen/protoc-gen-raftkit.js`). Runs the
// TypeScript entry through tsx (a dependency), so no build step is needed.
import { register } from "tsx/esm/api";

register();
await import("./plugin-main.ts");

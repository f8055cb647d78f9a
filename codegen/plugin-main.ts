import { runNodeJs } from "@bufbuild/protoplugin";
import { raftkitPlugin } from "./plugin.js";

/** Process entry of protoc-gen-raftkit: CodeGeneratorRequest on stdin, response on stdout. */
runNodeJs(raftkitPlugin);

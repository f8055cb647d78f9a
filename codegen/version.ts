/** The generator's version, printed in every generated file's header. */
export const codegenVersion = "0.1.0";
export const pluginName = "protoc-gen-raftkit";

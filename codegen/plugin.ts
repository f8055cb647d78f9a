import { createEcmaScriptPlugin } from "@bufbuild/protoplugin";
import type { Plugin, Schema } from "@bufbuild/protoplugin";
import { renderClient } from "../templates/codegen/client.js";
import {
  renderDescriptorSet,
  renderStateMachineConstant,
} from "../templates/codegen/descriptor-set.js";
import { renderDescriptors } from "../templates/codegen/descriptors.js";
import { renderDi } from "../templates/codegen/di.js";
import { renderExecutorInterface } from "../templates/codegen/executor.js";
import { renderRegister } from "../templates/codegen/register.js";
import { createRenderContext } from "../templates/codegen/render-context.js";
import { buildFileModels } from "./build-model.js";
import type { FileModel } from "./model.js";
import { generatedFileName } from "./names.js";
import type { RaftkitPluginOptions } from "./plugin-options.js";
import { parseRaftkitOptions } from "./plugin-options.js";
import { codegenVersion, pluginName } from "./version.js";

/**
 * protoc-gen-raftkit: for every proto file with a (raftkit.v1.state_machine)
 * service, writes `<file>_raftkit.ts` (descriptors, executor interface,
 * register function), `<file>_raftkit_client.ts` (typed clients) and
 * `<file>_raftkit_di.ts` (DI glue). Message types come from ts-proto (default) or
 * protoc-gen-es (`messages=protobuf-es`), run next to it.
 * Run by buf (see docs/codegen.md); `run(request)` throws on bad annotations.
 */
export const raftkitPlugin: Plugin = createEcmaScriptPlugin<RaftkitPluginOptions>({
  name: pluginName,
  version: `v${codegenVersion}`,
  parseOptions: parseRaftkitOptions,
  generateTs,
});

function generateTs(schema: Schema<RaftkitPluginOptions>): void {
  const models = buildFileModels(schema.files, schema.options.sourceRoot);
  for (const model of models) {
    if (model.services.length === 0) continue;
    generateExecutables(schema, model);
    if (schema.options.client) generateClients(schema, model);
    if (schema.options.di) generateDi(schema, model);
  }
}

function generateExecutables(schema: Schema<RaftkitPluginOptions>, model: FileModel): void {
  const file = schema.generateFile(generatedFileName(model.desc.name, "raftkit"));
  file.preamble(model.desc);
  const context = createRenderContext(file, schema.options.framework, schema.options.messages);
  for (const service of model.services) {
    renderStateMachineConstant(context, service);
    renderDescriptors(context, service);
    renderDescriptorSet(context, service);
    renderExecutorInterface(context, service);
    renderRegister(context, service);
  }
}

function generateClients(schema: Schema<RaftkitPluginOptions>, model: FileModel): void {
  const file = schema.generateFile(generatedFileName(model.desc.name, "raftkit_client"));
  file.preamble(model.desc);
  const context = createRenderContext(file, schema.options.framework, schema.options.messages,
    executablesModule(model));
  for (const service of model.services) renderClient(context, service);
}

function generateDi(schema: Schema<RaftkitPluginOptions>, model: FileModel): void {
  const file = schema.generateFile(generatedFileName(model.desc.name, "raftkit_di"));
  file.preamble(model.desc);
  const context = createRenderContext(file, schema.options.framework, schema.options.messages,
    executablesModule(model));
  for (const service of model.services) renderDi(context, service);
}

/** The import path of `<file>_raftkit.ts` from the output root. */
function executablesModule(model: FileModel): string {
  return `./${generatedFileName(model.desc.name, "raftkit").replace(/\.ts$/, ".js")}`;
}

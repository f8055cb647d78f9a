import type { ServiceModel } from "../../codegen/model.js";
import { methodMemberName } from "../../codegen/model.js";
import { executorName } from "../../codegen/names.js";
import type { RenderContext } from "./render-context.js";

/**
 * The interface a user implements: one method per rpc, typed request and
 * context in, typed result out (or a promise of it).
 *
 *   export interface KvServiceExecutor {
 *     put(request: PutRequest, context: ApplyContext): PutResponse | Promise<PutResponse>;
 *   }
 */
export function renderExecutorInterface(context: RenderContext, service: ServiceModel): void {
  const { file } = context;
  file.print(file.jsDoc(
    `The executors of state machine "${service.stateMachine}" ` +
      `(service ${service.desc.typeName}): ` +
      `one method per rpc.\nCommands get an ApplyContext (deterministic clock and random), ` +
      `queries a QueryContext.\nThrow StateMachineError for expected failures.`,
  ));
  file.print(file.export("interface", executorName(service)), " {");
  for (const method of service.methods) {
    const request = context.messageType(method.desc.input);
    const response = context.messageType(method.desc.output);
    const contextType = context.framework("statemachine",
      method.kind === "command" ? "ApplyContext" : "QueryContext", true);
    file.print(file.jsDoc(method.desc, "  "));
    file.print("  ", methodMemberName(method.desc), "(request: ", request, ", context: ",
      contextType, "): ", response, " | Promise<", response, ">;");
  }
  file.print("}");
  file.print();
}

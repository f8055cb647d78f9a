export type { UiHandlerOptions, UiTopology } from "./ui-handler.js";
export { createUiHandler, defaultRelayedServices } from "./ui-handler.js";
export type { FallbackHandler } from "./http-types.js";
export { defaultAssetsDirectory } from "./static-assets.js";

import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// Builds the management UI into framework/ui/dist, which every node serves at
// /ui (framework/ui/ui-handler.ts). `npm run build:ui`.
// Vite reads the config as the module's default export (the one default export here).
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/ui/",
  logLevel: "warn",
  build: {
    outDir: fileURLToPath(new URL("../dist", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 1024,
  },
});

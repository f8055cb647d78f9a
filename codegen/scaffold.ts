import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { CodegenError, CodegenErrorCode } from "./errors.js";
import { raftkitRoot } from "./tool-paths.js";
import { codegenVersion } from "./version.js";

/** templates/init: files `<path>.tmpl`; `__snake__`/`__kebab__` in paths, `{{x}}` in text. */
export const initTemplatesDirectory = join(raftkitRoot, "templates", "init");

/** A state machine name as options.proto allows it, with no empty '-' parts. */
const namePattern = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** The spellings of one name the templates use ("order-book" → OrderBook, order_book). */
export interface ScaffoldNames {
  readonly name: string;
  readonly kebab: string;
  readonly snake: string;
  readonly Pascal: string;
  readonly raftkitVersion: string;
}

export function scaffoldNames(name: string): ScaffoldNames {
  if (!namePattern.test(name) || name.length > 63) {
    throw new CodegenError(CodegenErrorCode.InvalidOption,
      `name "${name}": allowed lowercase letters and digits in parts joined by single '-', ` +
        `starting with a letter, at most 63 characters (e.g. counter, order-book)`);
  }
  const parts = name.split("-");
  return {
    name,
    kebab: name,
    snake: parts.join("_"),
    Pascal: parts.map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join(""),
    raftkitVersion: codegenVersion,
  };
}

/**
 * Writes a new state machine project into `directory` (absent or empty):
 * annotated proto, executor skeleton, state machine factory, a test,
 * package.json, tsconfig.json. Returns the files written, sorted.
 */
export async function scaffold(name: string, directory: string): Promise<string[]> {
  const names = scaffoldNames(name);
  await assertEmptyTarget(directory);
  const written: string[] = [];
  for (const template of await listTemplates(initTemplatesDirectory)) {
    const target = renderPath(template, names);
    const text = renderText(await readFile(join(initTemplatesDirectory, template), "utf8"),
      names, template);
    await mkdir(dirname(join(directory, target)), { recursive: true });
    await writeFile(join(directory, target), text);
    written.push(target);
  }
  return written.sort();
}

function renderPath(template: string, names: ScaffoldNames): string {
  const path = template
    .replace(/\.tmpl$/, "")
    .replaceAll("__snake__", names.snake)
    .replaceAll("__kebab__", names.kebab);
  // npm drops files named .gitignore from packages: the template is stored without the dot.
  return path === "gitignore" ? ".gitignore" : path;
}

/** Replaces every {{key}}; an unknown key is a broken template, named with its file. */
export function renderText(text: string, names: ScaffoldNames, template: string): string {
  const values: Readonly<Record<string, string>> = { ...names };
  return text.replace(/\{\{([A-Za-z]+)\}\}/g, (_match, key: string) => {
    const value = values[key];
    if (value === undefined) {
      throw new CodegenError(CodegenErrorCode.InvalidOption,
        `template ${template}: unknown placeholder {{${key}}} ` +
          `(known: ${Object.keys(values).join(", ")})`);
    }
    return value;
  });
}

async function assertEmptyTarget(directory: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(directory);
  } catch {
    return; // absent: created
  }
  if (entries.length > 0) {
    throw new CodegenError(CodegenErrorCode.FileSystem,
      `${directory} exists and is not empty; ` +
        "raftkit init writes only into a new or empty directory");
  }
}

async function listTemplates(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(".tmpl"))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)).split(sep).join("/"))
    .sort();
}

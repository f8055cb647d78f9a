/** What went wrong in code generation; closed: callers branch on codes, never on message text. */
export enum CodegenErrorCode {
  /** An annotated proto breaks a rule of the raftkit annotations (file:line given). */
  InvalidAnnotation = "invalid_annotation",
  /** A plugin option or command-line argument is not understood. */
  InvalidOption = "invalid_option",
  /** buf or a plugin failed (its output is included). */
  ToolFailed = "tool_failed",
  /** A file or directory the pipeline needs is missing or not writable. */
  FileSystem = "file_system",
}

/** One annotation problem, located in the proto source. */
export interface AnnotationProblem {
  /** "path/to/file.proto:line:column" (1-based), or the file name when no source info exists. */
  readonly location: string;
  readonly message: string;
}

export class CodegenError extends Error {
  override readonly name = "CodegenError";
  readonly code: CodegenErrorCode;
  /** For InvalidAnnotation: every problem found, in source order. */
  readonly problems: readonly AnnotationProblem[];

  constructor(
    code: CodegenErrorCode,
    message: string,
    problems: readonly AnnotationProblem[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.code = code;
    this.problems = problems;
  }

  /** Any thrown value as a CodegenError (unknown failures become ToolFailed). */
  static from(reason: unknown): CodegenError {
    if (isCodegenError(reason)) return reason;
    const message = reason instanceof Error ? reason.message : String(reason);
    return new CodegenError(CodegenErrorCode.ToolFailed, message, [], { cause: reason });
  }
}

const codes: ReadonlySet<string> = new Set(Object.values(CodegenErrorCode));

/** Shape-based guard (works across module copies), optionally narrowed to one code. */
export function isCodegenError(value: unknown, code?: CodegenErrorCode): value is CodegenError {
  if (!(value instanceof Error) || value.name !== "CodegenError") return false;
  const valueCode: unknown = Reflect.get(value, "code");
  if (typeof valueCode !== "string" || !codes.has(valueCode)) return false;
  return code === undefined || valueCode === code;
}

/** The error thrown for annotation problems: one line per problem, "file:line:col: message". */
export function annotationError(problems: readonly AnnotationProblem[]): CodegenError {
  const lines = problems.map((problem) => `${problem.location}: ${problem.message}`);
  return new CodegenError(
    CodegenErrorCode.InvalidAnnotation,
    `${problems.length} raftkit annotation problem(s):\n${lines.join("\n")}`,
    problems,
  );
}

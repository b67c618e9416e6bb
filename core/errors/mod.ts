/**
 * Typed errors shared by every module.
 *
 * Every library error is a {@link PipelineError} with a stable machine-readable
 * `code` and a message a person can act on. HTTP layers turn them into
 * `{"error": {"code", "message", "path"}}`; CLIs print `message` on one line.
 *
 * @example
 * ```ts
 * import { PipelineError } from "./mod.ts";
 * try {
 *   throw new PipelineError("config.invalid", "port: expected an integer 1-65535", { path: "port" });
 * } catch (e) {
 *   if (e instanceof PipelineError) console.error(`${e.code}: ${e.message}`);
 * }
 * ```
 * @module
 */

/** Options for {@link PipelineError}. */
export interface PipelineErrorOptions {
  /** Where the problem is: a JSON path, a file:line:column, a config key. */
  path?: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

/** Base class of every error this project throws on purpose. */
export class PipelineError extends Error {
  /** Stable dotted code, e.g. `dbc.syntax`, `candump.syntax`, `config.invalid`. */
  readonly code: string;
  /** Where the problem is, when known. */
  readonly path?: string;

  /**
   * @param code stable machine-readable code
   * @param message what went wrong and what to do about it
   */
  constructor(code: string, message: string, options: PipelineErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.path = options.path;
  }

  /** The JSON error shape used by every HTTP API. */
  toJSON(): { error: { code: string; message: string; path?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.path ? { path: this.path } : {}) } };
  }
}

/** A problem in an input file or text, with its location (1-based line and column). */
export class ParseError extends PipelineError {
  /** 1-based line number. */
  readonly line: number;
  /** 1-based column number. */
  readonly column: number;

  /**
   * @param code stable code such as `dbc.syntax`
   * @param message what is wrong
   */
  constructor(
    code: string,
    message: string,
    options: { source?: string; line: number; column?: number; cause?: unknown },
  ) {
    const column = options.column ?? 1;
    const where = `${options.source ?? "<input>"}:${options.line}:${column}`;
    super(code, `${where}: ${message}`, { path: where, cause: options.cause });
    this.line = options.line;
    this.column = column;
  }
}

/**
 * Structured, leveled logging (levels `trace` .. `panic`, as the original CESC/VEC).
 *
 * One JSON object per line: `{"ts":"…","level":"info","logger":"cesc","msg":"…",…fields}`.
 * Output goes to stderr, or, with `dir`, is appended to `<dir>/<file>` (the directory is
 * created). Disabled levels cost one integer comparison. Never pass secrets as fields:
 * keys named like `password`, `token`, `secret` or `key` are redacted anyway.
 *
 * @example
 * ```ts
 * import { createLogger } from "./mod.ts";
 * const log = createLogger("vec", { level: "debug" });
 * log.info("started", { port: 5000 });
 * log.child("mqtt").warn("reconnecting", { attempt: 3 });
 * ```
 * @module
 */

/** Log levels from most to least verbose. */
export const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "panic"] as const;
/** A log level name. */
export type Level = typeof LEVELS[number];

/** Fields attached to a log record. */
export type Fields = Record<string, unknown>;

/** Where formatted lines go. */
export interface LogSink {
  /** Write one formatted line (without the newline). */
  write(line: string): void;
}

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** Minimum level written (default `info`). */
  level?: Level;
  /** Log directory; when set, lines are appended to `<dir>/<file>`. */
  dir?: string;
  /** File name inside `dir` (default `<name>.log`). */
  file?: string;
  /** Custom sink (tests); overrides `dir`. */
  sink?: LogSink;
}

const SECRET_KEY = /pass(word)?|secret|token|credential|authorization|^key$|private/i;

/** A structured logger. */
export interface Logger {
  /** The logger's name (dotted for children). */
  readonly name: string;
  /** The minimum level written. */
  readonly level: Level;
  /** True when records at `level` are written. */
  enabled(level: Level): boolean;
  trace(msg: string, fields?: Fields): void;
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  fatal(msg: string, fields?: Fields): void;
  panic(msg: string, fields?: Fields): void;
  /** A logger named `<name>.<sub>` sharing level and sink. */
  child(sub: string): Logger;
}

/** Returns true when `value` is a level name. */
export function isLevel(value: string): value is Level {
  return (LEVELS as readonly string[]).includes(value);
}

class StderrSink implements LogSink {
  #enc = new TextEncoder();
  write(line: string): void {
    Deno.stderr.writeSync(this.#enc.encode(line + "\n"));
  }
}

class FileSink implements LogSink {
  #file: Deno.FsFile;
  #enc = new TextEncoder();
  constructor(path: string) {
    this.#file = Deno.openSync(path, { append: true, create: true });
  }
  write(line: string): void {
    this.#file.writeSync(this.#enc.encode(line + "\n"));
  }
}

function redact(fields: Fields): Fields {
  let out: Fields | undefined;
  for (const k in fields) {
    if (SECRET_KEY.test(k)) {
      out ??= { ...fields };
      out[k] = "[redacted]";
    }
  }
  return out ?? fields;
}

function serialiseError(e: unknown): unknown {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return { name: e.name, message: e.message, ...(code !== undefined ? { code } : {}) };
  }
  return e;
}

function makeLogger(name: string, min: number, sink: LogSink): Logger {
  const emit = (lvl: number, msg: string, fields?: Fields) => {
    if (lvl < min) return;
    const rec: Fields = { ts: new Date().toISOString(), level: LEVELS[lvl], logger: name, msg };
    if (fields) {
      const safe = redact(fields);
      for (const k in safe) rec[k] = k === "err" || k === "error" ? serialiseError(safe[k]) : safe[k];
    }
    let line: string;
    try {
      line = JSON.stringify(rec);
    } catch {
      line = JSON.stringify({ ts: rec.ts, level: rec.level, logger: name, msg, note: "unserialisable fields" });
    }
    sink.write(line);
  };
  return {
    name,
    level: LEVELS[min],
    enabled: (level) => LEVELS.indexOf(level) >= min,
    trace: (m, f) => emit(0, m, f),
    debug: (m, f) => emit(1, m, f),
    info: (m, f) => emit(2, m, f),
    warn: (m, f) => emit(3, m, f),
    error: (m, f) => emit(4, m, f),
    fatal: (m, f) => emit(5, m, f),
    panic: (m, f) => emit(6, m, f),
    child: (sub) => makeLogger(`${name}.${sub}`, min, sink),
  };
}

/**
 * Create a logger.
 *
 * @param name logger name, written in every record
 * @param options level, output directory or custom sink
 */
export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  let sink = options.sink;
  if (!sink && options.dir) {
    Deno.mkdirSync(options.dir, { recursive: true });
    sink = new FileSink(`${options.dir}/${options.file ?? `${name}.log`}`);
  }
  return makeLogger(name, LEVELS.indexOf(level), sink ?? new StderrSink());
}

/** A logger that writes nothing (libraries' default). */
export const silentLogger: Logger = makeLogger("silent", LEVELS.length, { write() {} });

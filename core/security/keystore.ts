/**
 * The key store: named HMAC keys loaded from a file or the environment, never logged.
 * @module
 */
import { PipelineError } from "../errors/mod.ts";

/** Shortest accepted key, in bytes (HMAC-SHA256 keys should be 32 random bytes). */
export const MIN_KEY_BYTES = 16;
/** Allowed key ids and sender ids: 1-64 of `A-Z a-z 0-9 . _ : -`. */
export const ID_PATTERN: RegExp = /^[A-Za-z0-9._:-]{1,64}$/;

/** Decode `hex:<hex>` or `base64:<base64>` (standard or URL alphabet) into bytes. */
export function decodeKey(spec: string, where: string): Uint8Array {
  const i = spec.indexOf(":");
  const enc = i < 0 ? "" : spec.slice(0, i);
  const value = spec.slice(i + 1).trim();
  let bytes: Uint8Array;
  if (enc === "hex") {
    if (!/^([0-9a-fA-F]{2})+$/.test(value)) {
      throw new PipelineError("security.key_encoding", `${where}: hex key must be an even number of hex digits`, {
        path: where,
      });
    }
    bytes = new Uint8Array(value.length / 2);
    for (let j = 0; j < bytes.length; j++) bytes[j] = parseInt(value.slice(2 * j, 2 * j + 2), 16);
  } else if (enc === "base64") {
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
      throw new PipelineError("security.key_encoding", `${where}: base64 key has characters outside base64`, {
        path: where,
      });
    }
    const std = value.replaceAll("-", "+").replaceAll("_", "/").replace(/=+$/, "");
    let bin: string;
    try {
      bin = atob(std + "=".repeat((4 - (std.length % 4)) % 4));
    } catch {
      throw new PipelineError("security.key_encoding", `${where}: base64 key has an invalid length`, { path: where });
    }
    bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } else {
    throw new PipelineError(
      "security.key_encoding",
      `${where}: key must be written as hex:<hex digits> or base64:<base64>`,
      { path: where },
    );
  }
  if (bytes.length < MIN_KEY_BYTES) {
    throw new PipelineError(
      "security.key_too_short",
      `${where}: key has ${bytes.length} bytes; use at least ${MIN_KEY_BYTES} (32 random bytes recommended)`,
      { path: where },
    );
  }
  return bytes;
}

const INSPECT = Symbol.for("Deno.customInspect");
const NODE_INSPECT = Symbol.for("nodejs.util.inspect.custom");

/**
 * Named HMAC keys, several active at once for rotation. Key bytes are held in a private field:
 * `JSON.stringify`, `console.log` and `Deno.inspect` show only the key ids.
 *
 * Text format (file, or the environment variable with `,`/`;`/newlines between entries):
 * `<keyId>=hex:<hex>` or `<keyId>=base64:<base64>`; `#` starts a comment line.
 *
 * @example
 * ```ts
 * import { KeyStore } from "./keystore.ts";
 * const keys = KeyStore.parse("k1=hex:000102030405060708090a0b0c0d0e0f");
 * keys.has("k1"); // true
 * ```
 */
export class KeyStore {
  #keys = new Map<string, Uint8Array>();

  /** A store holding `entries` (key id → key bytes). */
  static fromEntries(entries: Iterable<[string, Uint8Array]>): KeyStore {
    const s = new KeyStore();
    for (const [id, key] of entries) s.set(id, key);
    return s;
  }

  /**
   * Parse the text format.
   *
   * @param text entries separated by newlines (and, with `options.separators`, `,` or `;`)
   * @param options.source name used in error messages (a file path or variable name)
   */
  static parse(text: string, options: { source?: string; separators?: boolean } = {}): KeyStore {
    const source = options.source ?? "<keys>";
    const s = new KeyStore();
    const lines = text.split(options.separators ? /[\n,;]/ : "\n");
    for (const [n, raw] of lines.entries()) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) continue;
      const where = options.separators ? `${source} entry ${n + 1}` : `${source}:${n + 1}`;
      const eq = line.indexOf("=");
      if (eq < 0) {
        throw new PipelineError("security.key_syntax", `${where}: expected <keyId>=hex:<…> or <keyId>=base64:<…>`, {
          path: where,
        });
      }
      const id = line.slice(0, eq).trim();
      if (s.has(id)) {
        throw new PipelineError("security.key_duplicate", `${where}: key id ${id} is defined twice`, { path: where });
      }
      s.set(id, decodeKey(line.slice(eq + 1).trim(), where), where);
    }
    return s;
  }

  /** Read a key file (see the class doc for the format). */
  static async fromFile(path: string): Promise<KeyStore> {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (cause) {
      throw new PipelineError("security.key_file", `cannot read key file ${path}: ${(cause as Error).message}`, {
        path,
        cause,
      });
    }
    return KeyStore.parse(text, { source: path });
  }

  /**
   * Read keys from an environment variable (default `CCS_KEYS`), entries separated by `,`, `;` or newlines.
   *
   * @param options.env where to read (default `Deno.env`); anything with `get(name)`
   */
  static fromEnv(options: { name?: string; env?: { get(name: string): string | undefined } } = {}): KeyStore {
    const name = options.name ?? "CCS_KEYS";
    const value = (options.env ?? Deno.env).get(name);
    if (value === undefined || value.trim() === "") {
      throw new PipelineError(
        "security.key_env",
        `environment variable ${name} is empty; set it to <keyId>=hex:<…>[,<keyId>=base64:<…>]`,
        { path: name },
      );
    }
    return KeyStore.parse(value, { source: name, separators: true });
  }

  /** Add or replace a key (copied). */
  set(keyId: string, key: Uint8Array, where = keyId): void {
    if (!ID_PATTERN.test(keyId)) {
      throw new PipelineError("security.key_id", `${where}: key id must be 1-64 of A-Z a-z 0-9 . _ : -`, {
        path: where,
      });
    }
    if (key.length < MIN_KEY_BYTES) {
      throw new PipelineError("security.key_too_short", `${where}: key has ${key.length} bytes; use at least 16`, {
        path: where,
      });
    }
    this.#keys.set(keyId, key.slice());
  }

  /** Remove a key (e.g. after rotation). */
  delete(keyId: string): boolean {
    return this.#keys.delete(keyId);
  }

  /** The key bytes for `keyId` (do not log them). */
  get(keyId: string): Uint8Array | undefined {
    return this.#keys.get(keyId);
  }

  /** Whether `keyId` is known. */
  has(keyId: string): boolean {
    return this.#keys.has(keyId);
  }

  /** The key ids, in insertion order. */
  ids(): string[] {
    return [...this.#keys.keys()];
  }

  /** Number of keys. */
  get size(): number {
    return this.#keys.size;
  }

  /** Redacted: only the key ids. */
  toJSON(): { keyIds: string[] } {
    return { keyIds: this.ids() };
  }

  /** Redacted inspection (Deno). */
  [INSPECT](): string {
    return `KeyStore { keyIds: ${JSON.stringify(this.ids())} }`;
  }

  /** Redacted inspection (node:util). */
  [NODE_INSPECT](): string {
    return `KeyStore { keyIds: ${JSON.stringify(this.ids())} }`;
  }

  /** Redacted string form. */
  toString(): string {
    return `KeyStore(${this.ids().join(", ")})`;
  }
}

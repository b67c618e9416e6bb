/**
 * The OVDS `timestamp` column holds the canonical time text of `core/datapoint` ({@link formatTime}:
 * `YYYY-MM-DDTHH:MM:SS.sssZ`, fixed width), so that SQL text comparison is time comparison and one instant is one
 * `UNIQUE(path, timestamp)` key. Texts that are not RFC 3339 at all (old files from other tools) stay as they are and
 * sort as text (byte order) among the canonical ones. Internal to `core/ovds`.
 * @module
 */
import { formatTime, MAX_TS_MS, MIN_TS_MS, parseTime } from "../datapoint/mod.ts";

/** SQLite GLOB pattern that matches exactly the canonical texts' shape (no `*`: the length is fixed, 24). */
export const CANONICAL_GLOB =
  "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z";

/**
 * An upper bound above every stored text: U+10FFFF is the largest code point, and SQLite compares TEXT by its UTF-8
 * bytes (`F4 8F BF BF` is the largest valid start), so it sorts after every canonical time and after junk texts.
 */
export const OPEN_END = "\u{10FFFF}";

/** The canonical text of an RFC 3339 `text` (any fraction digits, offset, case), `undefined` when it is none. */
export function canonicalTime(text: string): string | undefined {
  const ms = parseTime(text);
  return Number.isNaN(ms) ? undefined : formatTime(ms);
}

/** True when `text` is already the canonical time text. */
export function isCanonicalTime(text: string): boolean {
  return text.length === 24 && canonicalTime(text) === text;
}

/**
 * The text bound of an instant in ms for range queries: canonical text inside 0000..9999, `""` below (every text is
 * at or above it) and {@link OPEN_END} above.
 */
export function boundText(ms: number): string {
  if (ms < MIN_TS_MS) return "";
  if (ms > MAX_TS_MS) return OPEN_END;
  return formatTime(Math.floor(ms));
}

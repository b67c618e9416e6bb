/**
 * Time of a datapoint: integer ms since the epoch inside, RFC 3339 text at the edges. One instant has one canonical
 * text form ({@link formatTime}: `YYYY-MM-DDTHH:MM:SS.sssZ`, always three fraction digits), so that text order is
 * time order and equal instants are equal strings, whatever fraction digits or offset a sender used.
 * @module
 */
import { MAX_TS_MS, MIN_TS_MS } from "./types.ts";

/** True when `ms` is an integer inside what RFC 3339 can carry (years 0000-9999). */
export function isTsMs(ms: number): boolean {
  return Number.isInteger(ms) && ms >= MIN_TS_MS && ms <= MAX_TS_MS;
}

/**
 * Seconds since the epoch (a candump or SocketCAN time, µs resolution) to integer ms, truncated toward the past;
 * NaN when the result is outside {@link isTsMs} (the caller refuses that datapoint).
 */
export function tsMsFromSeconds(seconds: number): number {
  const ms = Math.floor(Math.round(seconds * 1e6) / 1000);
  return ms >= MIN_TS_MS && ms <= MAX_TS_MS ? ms : NaN;
}

const DAY_MS = 86_400_000;
const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, "0"));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0"));
let cachedDay = NaN;
let cachedPrefix = "";

/**
 * The canonical RFC 3339 text of `ms`: `YYYY-MM-DDTHH:MM:SS.sssZ` (UTC, three fraction digits). The date part is
 * cached, so consecutive times of one day cost no Date.
 * @throws RangeError when `ms` is not {@link isTsMs} (callers validate first)
 */
export function formatTime(ms: number): string {
  if (!isTsMs(ms)) throw new RangeError(`time ${ms} ms is outside 0000-01-01..9999-12-31 or not an integer`);
  const day = Math.floor(ms / DAY_MS);
  if (day !== cachedDay) {
    const iso = new Date(day * DAY_MS).toISOString();
    cachedPrefix = iso.slice(0, iso.indexOf("T") + 1);
    cachedDay = day;
  }
  let r = ms - day * DAY_MS;
  const h = Math.floor(r / 3_600_000);
  r -= h * 3_600_000;
  const m = Math.floor(r / 60_000);
  r -= m * 60_000;
  const s = Math.floor(r / 1000);
  return cachedPrefix + PAD2[h] + ":" + PAD2[m] + ":" + PAD2[s] + "." + PAD3[r - s * 1000] + "Z";
}

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The number of the ASCII digits `[i, end)`, or -1 when one is not a digit. */
function digits(s: string, i: number, end: number): number {
  let v = 0;
  for (let k = i; k < end; k++) {
    const d = s.charCodeAt(k) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

let parsedDay = "";
let parsedDayMs = 0;

/** ms of midnight of the `YYYY-MM-DD` at the start of `s`, NaN when it is no real date. Cached per day. */
function dayMs(s: string): number {
  if (parsedDay !== "" && s.startsWith(parsedDay)) return parsedDayMs;
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return NaN;
  const y = digits(s, 0, 4), mo = digits(s, 5, 7), d = digits(s, 8, 10);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > DAYS[mo - 1]) return NaN;
  if (mo === 2 && d === 29 && !(y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0))) return NaN;
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  parsedDay = s.slice(0, 10);
  parsedDayMs = t.getTime();
  return parsedDayMs;
}

/**
 * Parses an RFC 3339 date-time (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, `T`/`Z` in either case, 1-9 fraction
 * digits, a leap second `:60` read as the last millisecond of its minute) to integer ms since the epoch, truncating
 * the fraction to ms. Returns NaN for any other text or an instant outside {@link isTsMs}. Checked character by
 * character: it runs for every ingested datapoint.
 */
export function parseTime(s: string): number {
  const len = s.length;
  if (len < 20 || len > 35) return NaN;
  const t = s.charCodeAt(10);
  if ((t !== 84 && t !== 116) || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return NaN;
  const day = dayMs(s);
  if (Number.isNaN(day)) return NaN;
  const h = digits(s, 11, 13), mi = digits(s, 14, 16), se = digits(s, 17, 19);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60) return NaN;
  let i = 19, frac = 0;
  if (s.charCodeAt(19) === 46 /* . */) {
    let n = 0;
    for (i = 20; i < len; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      if (n < 3) frac = frac * 10 + d;
      n++;
    }
    if (n === 0 || n > 9) return NaN;
    if (n === 1) frac *= 100;
    else if (n === 2) frac *= 10;
  }
  let offset = 0;
  const z = s.charCodeAt(i);
  if (z === 90 || z === 122) {
    if (i + 1 !== len) return NaN;
  } else if (z === 43 || z === 45) {
    if (i + 6 !== len || s.charCodeAt(i + 3) !== 58) return NaN;
    const oh = digits(s, i + 1, i + 3), om = digits(s, i + 4, i + 6);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return NaN;
    offset = (z === 43 ? 1 : -1) * (oh * 60 + om) * 60_000;
  } else return NaN;
  const ms = se === 60
    ? day + h * 3_600_000 + mi * 60_000 + 59_999
    : day + h * 3_600_000 + mi * 60_000 + se * 1000 + frac;
  const r = ms - offset;
  return r >= MIN_TS_MS && r <= MAX_TS_MS ? r : NaN;
}

/**
 * Minimal DBC reader for signal names and value tables, used by this folder's tests and bench until the
 * full DBC parser (branch can-ts, `core/can`) is merged. Not exported from `mod.ts`.
 * @module
 */

/** Signal names (in file order; index = global signal id) and their `VAL_` tables. */
export interface DbcSignalNames {
  /** `names[i]` is the name of global signal id i. */
  names: string[];
  /** `choices[i]` is the value table of signal i, if any. */
  choices: (Map<number, string> | undefined)[];
}

/** Read signal names (`SG_` lines, per message in file order) and `VAL_` tables from DBC text. */
export function readDbcSignalNames(text: string): DbcSignalNames {
  const names: string[] = [];
  const keys: string[] = [];
  let message = "";
  for (const line of text.split(/\r?\n/)) {
    const bo = /^BO_\s+(\d+)\s/.exec(line);
    if (bo) message = bo[1];
    const sg = /^\s+SG_\s+(\w+)/.exec(line);
    if (sg) {
      names.push(sg[1]);
      keys.push(`${message}:${sg[1]}`);
    }
  }
  const index = new Map(keys.map((k, i) => [k, i]));
  const choices: (Map<number, string> | undefined)[] = new Array(names.length).fill(undefined);
  for (const m of text.matchAll(/^VAL_\s+(\d+)\s+(\w+)((?:\s+-?\d+\s+"[^"]*")*)\s*;/gm)) {
    const i = index.get(`${m[1]}:${m[2]}`);
    if (i === undefined) continue;
    const table = new Map<number, string>();
    for (const p of m[3].matchAll(/(-?\d+)\s+"([^"]*)"/g)) table.set(Number(p[1]), p[2]);
    choices[i] = table;
  }
  return { names, choices };
}

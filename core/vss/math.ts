/**
 * Safe compiler for Kuksa `transform.math` expressions.
 *
 * Kuksa's dbcfeeder evaluates these with py_expression_eval. This module accepts the
 * same grammar for the numeric subset Kuksa uses, parses it into a small AST and
 * compiles that into nested closures. Nothing is ever passed to `eval` or
 * `new Function`.
 *
 * Grammar and precedence follow py_expression_eval exactly (lowest first, every
 * binary operator left-associative):
 *
 * | level | operators                 |
 * | ----- | ------------------------- |
 * | 0     | `+` `-`                   |
 * | 1     | `*`                       |
 * | 2     | `/` `%` and unary `-` `+` |
 * | 3     | `^` (power)               |
 *
 * So `2^3^2` is `(2^3)^2 = 64`, `-x^2` is `-(x^2)` and `a*b%c` is `a*(b%c)`.
 * One-argument functions: `sin cos tan asin acos atan sqrt log exp abs ceil floor
 * round` (`log` is the natural logarithm, `round` rounds half to even like Python 3).
 * Functions with argument lists: `min(a, …)`, `max(a, …)`, `pow(a, b)`, `atan2(y, x)`,
 * `pyt(a, b)`. Constants: `E`, `PI`. The only variable is `x`. Numbers are decimal
 * (`12`, `0.5`, `.5`, and as an extension `1e-3`); `2^-1` is accepted although
 * py_expression_eval rejects it.
 *
 * Where Python raises (division or modulo by zero, `sqrt(-1)`, `log(0)`, overflow) the
 * compiled function returns a non-finite number; callers treat that as "transform
 * failed" exactly like Kuksa ignores the value.
 * @module
 */

import { ParseError } from "../errors/mod.ts";

/** A node of a parsed math expression. */
export type MathNode =
  | { readonly kind: "num"; readonly value: number }
  | { readonly kind: "var" }
  | { readonly kind: "neg"; readonly arg: MathNode }
  | { readonly kind: "bin"; readonly op: MathBinaryOp; readonly left: MathNode; readonly right: MathNode }
  | { readonly kind: "call"; readonly fn: MathFunction; readonly args: readonly MathNode[] };

/** Binary operators of a math expression. */
export type MathBinaryOp = "+" | "-" | "*" | "/" | "%" | "^";

/** Functions a math expression may call. */
export type MathFunction =
  | "sin"
  | "cos"
  | "tan"
  | "asin"
  | "acos"
  | "atan"
  | "sqrt"
  | "log"
  | "exp"
  | "abs"
  | "ceil"
  | "floor"
  | "round"
  | "min"
  | "max"
  | "pow"
  | "atan2"
  | "pyt";

/** A compiled expression: maps the DBC value `x` to the VSS value. */
export type MathFn = (x: number) => number;

/** Options for {@link parseMath} and {@link compileMath}. */
export interface MathOptions {
  /** Where the expression comes from, used in error messages (e.g. `Vehicle.Speed.dbc2vss.transform.math`). */
  source?: string;
}

/** Python 3 `round(x)`: round half to even. */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x);
  if (Math.abs(x % 1) === 0.5) return 2 * Math.round(x / 2);
  return r;
}

/** Python float `%`: the result has the sign of the divisor; NaN when dividing by zero. */
export function pyMod(a: number, b: number): number {
  if (b === 0) return NaN;
  const r = a % b;
  return r !== 0 && (r < 0) !== (b < 0) ? r + b : r;
}

/** Python true division: NaN (not ±Infinity) when dividing by zero, since Python raises. */
export function pyDiv(a: number, b: number): number {
  return b === 0 ? NaN : a / b;
}

const UNARY: Readonly<Record<string, (a: number) => number>> = {
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sqrt: Math.sqrt,
  log: (a) => (a <= 0 ? NaN : Math.log(a)),
  exp: Math.exp,
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  round: roundHalfEven,
};

const ARITY: Readonly<Record<string, readonly [number, number]>> = {
  min: [1, Infinity],
  max: [1, Infinity],
  pow: [2, 2],
  atan2: [2, 2],
  pyt: [2, 2],
};

const CONSTANTS: Readonly<Record<string, number>> = { E: Math.E, PI: Math.PI };

type TokKind = "num" | "id" | "op" | "(" | ")" | "," | "end";
interface Tok {
  kind: TokKind;
  text: string;
  value: number;
  /** 0-based offset in the expression. */
  pos: number;
}

function tokenize(src: string, fail: (pos: number, msg: string) => never): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    if ((c >= "0" && c <= "9") || c === ".") {
      const m = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(src.slice(i));
      if (!m) fail(i, `malformed number`);
      const text = m[0];
      if (/[.\d]/.test(src[i + text.length] ?? "")) fail(i, `malformed number "${text}${src[i + text.length]}"`);
      toks.push({ kind: "num", text, value: Number(text), pos: i });
      i += text.length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      toks.push({ kind: "id", text: m[0], value: 0, pos: i });
      i += m[0].length;
      continue;
    }
    if ("+-*/%^".includes(c)) {
      toks.push({ kind: "op", text: c, value: 0, pos: i });
      i++;
      continue;
    }
    if (c === "(" || c === ")" || c === ",") {
      toks.push({ kind: c, text: c, value: 0, pos: i });
      i++;
      continue;
    }
    fail(i, `unexpected character "${c}"`);
  }
  toks.push({ kind: "end", text: "end of expression", value: 0, pos: src.length });
  return toks;
}

/**
 * Parse a Kuksa math expression into an AST.
 *
 * @throws {ParseError} code `vss.math.syntax` with the 1-based column of the problem.
 */
export function parseMath(expression: string, options: MathOptions = {}): MathNode {
  const fail = (pos: number, msg: string): never => {
    throw new ParseError("vss.math.syntax", `${msg} in math expression "${expression}"`, {
      source: options.source ?? "<math>",
      line: 1,
      column: pos + 1,
    });
  };
  const toks = tokenize(expression, fail);
  let k = 0;
  const peek = () => toks[k];
  const describe = (t: Tok) => (t.kind === "end" ? "end of expression" : `"${t.text}"`);
  const expect = (kind: TokKind, what: string) => {
    const t = toks[k];
    if (t.kind !== kind) fail(t.pos, `expected ${what} but found ${describe(t)}`);
    k++;
    return t;
  };

  // level 0: + -
  const level0 = (): MathNode => {
    let left = level1();
    for (let t = peek(); t.kind === "op" && (t.text === "+" || t.text === "-"); t = peek()) {
      k++;
      left = { kind: "bin", op: t.text as MathBinaryOp, left, right: level1() };
    }
    return left;
  };
  // level 1: *
  const level1 = (): MathNode => {
    let left = level2();
    for (let t = peek(); t.kind === "op" && t.text === "*"; t = peek()) {
      k++;
      left = { kind: "bin", op: "*", left, right: level2() };
    }
    return left;
  };
  // level 2: / % and unary sign
  const level2 = (): MathNode => {
    let left = unary();
    for (let t = peek(); t.kind === "op" && (t.text === "/" || t.text === "%"); t = peek()) {
      k++;
      left = { kind: "bin", op: t.text as MathBinaryOp, left, right: unary() };
    }
    return left;
  };
  const unary = (): MathNode => {
    const t = peek();
    if (t.kind === "op" && (t.text === "-" || t.text === "+")) {
      k++;
      const arg = unary();
      return t.text === "-" ? { kind: "neg", arg } : arg;
    }
    return level3();
  };
  // level 3: ^ (left-associative, like py_expression_eval)
  const level3 = (): MathNode => {
    let left = primary();
    for (let t = peek(); t.kind === "op" && t.text === "^"; t = peek()) {
      k++;
      left = { kind: "bin", op: "^", left, right: powOperand() };
    }
    return left;
  };
  const powOperand = (): MathNode => {
    const t = peek();
    if (t.kind === "op" && (t.text === "-" || t.text === "+")) {
      k++;
      const arg = powOperand();
      return t.text === "-" ? { kind: "neg", arg } : arg;
    }
    return primary();
  };
  const primary = (): MathNode => {
    const t = peek();
    switch (t.kind) {
      case "num":
        k++;
        return { kind: "num", value: t.value };
      case "(": {
        k++;
        const inner = level0();
        expect(")", `")"`);
        return inner;
      }
      case "id": {
        k++;
        if (t.text === "x") return { kind: "var" };
        if (Object.hasOwn(CONSTANTS, t.text)) return { kind: "num", value: CONSTANTS[t.text] };
        const fn = t.text as MathFunction;
        if (!Object.hasOwn(UNARY, fn) && !Object.hasOwn(ARITY, fn)) {
          if (peek().kind === "(") fail(t.pos, `unknown function "${t.text}"`);
          fail(t.pos, `unknown variable "${t.text}" (only x is defined)`);
        }
        const open = peek();
        if (open.kind !== "(") fail(open.pos, `expected "(" after function "${t.text}" but found ${describe(open)}`);
        k++;
        const args: MathNode[] = [level0()];
        while (peek().kind === ",") {
          k++;
          args.push(level0());
        }
        expect(")", `")"`);
        const [lo, hi] = Object.hasOwn(ARITY, fn) ? ARITY[fn] : [1, 1];
        if (args.length < lo || args.length > hi) {
          const want = lo === hi ? `${lo}` : `at least ${lo}`;
          fail(t.pos, `function "${t.text}" takes ${want} argument(s), got ${args.length}`);
        }
        return { kind: "call", fn, args };
      }
      default:
        return fail(t.pos, `expected a number, x, a function or "(" but found ${describe(t)}`);
    }
  };

  const root = level0();
  const last = peek();
  if (last.kind !== "end") {
    fail(last.pos, last.kind === ")" ? `unmatched ")"` : `unexpected ${describe(last)}`);
  }
  return root;
}

function build(node: MathNode): MathFn {
  switch (node.kind) {
    case "num": {
      const v = node.value;
      return () => v;
    }
    case "var":
      return (x) => x;
    case "neg": {
      const a = build(node.arg);
      return (x) => -a(x);
    }
    case "bin": {
      const l = build(node.left);
      const r = build(node.right);
      switch (node.op) {
        case "+":
          return (x) => l(x) + r(x);
        case "-":
          return (x) => l(x) - r(x);
        case "*":
          return (x) => l(x) * r(x);
        case "/":
          return (x) => pyDiv(l(x), r(x));
        case "%":
          return (x) => pyMod(l(x), r(x));
        case "^":
          return (x) => Math.pow(l(x), r(x));
      }
      break;
    }
    case "call": {
      const args = node.args.map(build);
      const unary = Object.hasOwn(UNARY, node.fn) ? UNARY[node.fn] : undefined;
      if (unary) {
        const a = args[0];
        return (x) => unary(a(x));
      }
      if (args.length === 2) {
        const [a, b] = args;
        const fn = node.fn;
        return (x) => {
          const va = a(x);
          const vb = b(x);
          switch (fn) {
            case "min":
              return Math.min(va, vb);
            case "max":
              return Math.max(va, vb);
            case "pow":
              return Math.pow(va, vb);
            case "atan2":
              return Math.atan2(va, vb);
            default:
              return Math.hypot(va, vb);
          }
        };
      }
      // min/max with 1 or 3+ arguments: a reused scratch array, no per-call allocation.
      const scratch = new Array<number>(args.length);
      const isMin = node.fn === "min";
      return (x) => {
        for (let i = 0; i < args.length; i++) scratch[i] = args[i](x);
        let acc = scratch[0];
        for (let i = 1; i < scratch.length; i++) acc = isMin ? Math.min(acc, scratch[i]) : Math.max(acc, scratch[i]);
        return acc;
      };
    }
  }
  throw new Error("unreachable");
}

function usesVar(node: MathNode): boolean {
  switch (node.kind) {
    case "num":
      return false;
    case "var":
      return true;
    case "neg":
      return usesVar(node.arg);
    case "bin":
      return usesVar(node.left) || usesVar(node.right);
    case "call":
      return node.args.some(usesVar);
  }
}

/** Fold sub-trees that do not depend on `x` into constants. */
function fold(node: MathNode): MathNode {
  if (!usesVar(node)) {
    if (node.kind === "num") return node;
    return { kind: "num", value: build(node)(0) };
  }
  switch (node.kind) {
    case "neg":
      return { kind: "neg", arg: fold(node.arg) };
    case "bin":
      return { kind: "bin", op: node.op, left: fold(node.left), right: fold(node.right) };
    case "call":
      return { kind: "call", fn: node.fn, args: node.args.map(fold) };
    default:
      return node;
  }
}

/**
 * Parse and compile a Kuksa math expression into a closure `x => value`.
 * Constant sub-expressions are folded at compile time.
 *
 * @example
 * ```ts
 * import { compileMath } from "./math.ts";
 * const f = compileMath("floor((x*40)-100)");
 * f(2); // -20
 * ```
 * @throws {ParseError} code `vss.math.syntax` with the column of the problem.
 */
export function compileMath(expression: string, options: MathOptions = {}): MathFn {
  return build(fold(parseMath(expression, options)));
}

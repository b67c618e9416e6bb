import assert from "node:assert/strict";
import fc from "fast-check";
import { ParseError } from "../errors/mod.ts";
import { compileMath, type MathBinaryOp, type MathNode, parseMath, pyMod, roundHalfEven } from "./math.ts";

Deno.test("math: Kuksa's shipped formulas", () => {
  const pan = compileMath("floor((x*40)-100)");
  assert.equal(pan(2), -20);
  assert.equal(pan(5), 100);
  assert.equal(pan(0), -100);
  const back = compileMath("(x+100)/40");
  assert.equal(back(-20), 2);
  const steer = compileMath("floor(x+0.5)");
  assert.equal(steer(-1.5), -1);
  assert.equal(steer(12.49), 12);
  const load = compileMath("floor(abs(x/5))");
  assert.equal(load(-23), 4);
  assert.equal(load(23), 4);
});

Deno.test("math: py_expression_eval precedence and associativity", () => {
  const cases: [string, number, number][] = [
    ["1+2*3", 0, 7],
    ["2^3^2", 0, 64], // left-associative power, like py_expression_eval
    ["-x^2", 3, -9],
    ["-2*3", 0, -6],
    ["x*-1", 4, -4],
    ["2^-1", 0, 0.5],
    ["10-4-3", 0, 3],
    ["12/3/2", 0, 2],
    ["7*5%3", 0, 14], // % binds tighter than *: 7*(5%3)
    ["-7%3", 0, 2], // Python modulo: sign of the divisor
    ["7%-3", 0, -2],
    ["round(2.5)+round(3.5)+round(-2.5)", 0, 4], // half to even: 2 + 4 + -2
    ["min(3, x, 5) + max(1, 2)", 1, 3],
    ["pow(2, 10)", 0, 1024],
    ["pyt(3, 4)", 0, 5],
    ["atan2(0, 1)", 0, 0],
    ["PI - PI + E - E", 0, 0],
    [" ( x ) ", 42, 42],
    ["+x", 5, 5],
    ["--x", 5, 5],
    [".5 + 1.", 0, 1.5],
    ["1e3 * x", 2, 2000],
    ["ceil(x) - floor(x)", 1.2, 1],
    ["sqrt(x)", 16, 4],
    ["exp(0) + log(1)", 0, 1],
  ];
  for (const [src, x, want] of cases) {
    assert.equal(compileMath(src)(x), want, `${src} with x=${x}`);
  }
});

Deno.test("math: Python errors become non-finite results", () => {
  assert.ok(Number.isNaN(compileMath("x/0")(1)));
  assert.ok(Number.isNaN(compileMath("x%0")(1)));
  assert.ok(Number.isNaN(compileMath("sqrt(x)")(-1)));
  assert.ok(Number.isNaN(compileMath("log(x)")(0)));
  assert.equal(compileMath("x^2")(1e200), Infinity);
});

Deno.test("math: syntax errors are ParseErrors with the column", () => {
  const cases: [string, number, RegExp][] = [
    ["x +", 4, /expected a number, x, a function or "\(" but found end of expression/],
    ["floor((x*40)-100", 17, /expected "\)"/],
    ["x + y", 5, /unknown variable "y" \(only x is defined\)/],
    ["foo(x)", 1, /unknown function "foo"/],
    ["x ? 1", 3, /unexpected character "\?"/],
    ["x)", 2, /unmatched "\)"/],
    ["floor x", 7, /expected "\(" after function "floor"/],
    ["pow(x)", 1, /function "pow" takes 2 argument\(s\), got 1/],
    ["1.2.3", 1, /malformed number/],
    ["x 2", 3, /unexpected "2"/],
    ["", 1, /found end of expression/],
  ];
  for (const [src, column, re] of cases) {
    assert.throws(
      () => compileMath(src, { source: "m.json: A.B.dbc2vss.transform.math" }),
      (e: unknown) => {
        assert.ok(e instanceof ParseError, `${src}: ${e}`);
        assert.equal(e.code, "vss.math.syntax");
        assert.equal(e.line, 1);
        assert.equal(e.column, column, `${src}: ${e.message}`);
        assert.match(e.message, re);
        assert.ok(e.message.startsWith(`m.json: A.B.dbc2vss.transform.math:1:${column}: `), e.message);
        return true;
      },
    );
  }
});

Deno.test("math: never evaluates code", () => {
  for (const src of ["constructor", "x.constructor", "globalThis", "this", "x[0]", "'a'", "x || 1", "(() => 1)()"]) {
    assert.throws(() => compileMath(src), ParseError, src);
  }
});

// ---- property tests: random ASTs, rendered with only the parentheses the precedence table needs, must compile
// to the same function as a straightforward tree-walking evaluator.

/** Reference evaluator, written independently from the compiler. */
function evaluate(n: MathNode, x: number): number {
  switch (n.kind) {
    case "num":
      return n.value;
    case "var":
      return x;
    case "neg":
      return -evaluate(n.arg, x);
    case "bin": {
      const a = evaluate(n.left, x);
      const b = evaluate(n.right, x);
      if (n.op === "+") return a + b;
      if (n.op === "-") return a - b;
      if (n.op === "*") return a * b;
      if (n.op === "/") return b === 0 ? NaN : a / b;
      if (n.op === "%") return pyMod(a, b);
      return a ** b;
    }
    case "call": {
      const v = n.args.map((a) => evaluate(a, x));
      switch (n.fn) {
        case "floor":
          return Math.floor(v[0]);
        case "ceil":
          return Math.ceil(v[0]);
        case "abs":
          return Math.abs(v[0]);
        case "round":
          return roundHalfEven(v[0]);
        case "sin":
          return Math.sin(v[0]);
        case "cos":
          return Math.cos(v[0]);
        case "min":
          return v.some(Number.isNaN) ? NaN : Math.min(...v);
        case "max":
          return v.some(Number.isNaN) ? NaN : Math.max(...v);
        case "pow":
          return v[0] ** v[1];
        default:
          throw new Error(`test evaluator: ${n.fn}`);
      }
    }
  }
}

const LEVEL: Record<MathBinaryOp, number> = { "+": 0, "-": 0, "*": 1, "/": 2, "%": 2, "^": 3 };

/** Render with the fewest parentheses py_expression_eval's precedence allows (plus random extra ones). */
function render(n: MathNode, extra: () => boolean): string {
  // level of the node: 0-3 binary, 2 for unary minus, 4 atoms
  const level = (m: MathNode) => (m.kind === "bin" ? LEVEL[m.op] : m.kind === "neg" ? 2 : 4);
  const wrap = (m: MathNode, need: boolean) => {
    const s = render(m, extra);
    return need || extra() ? `(${s})` : s;
  };
  switch (n.kind) {
    case "num":
      return n.value < 0 ? `(${n.value})` : String(n.value);
    case "var":
      return "x";
    case "neg": {
      // `-a` may drop parentheses only around atoms and powers (`-x^2` is `-(x^2)`)
      return `-${wrap(n.arg, level(n.arg) < 3)}`;
    }
    case "bin": {
      const lv = LEVEL[n.op];
      // left-associative: the left side may be at the same level, the right side must be strictly higher.
      // Unary minus sits at level 2, so `-a/b` and `a*-b` need none but `(-a)^b` does.
      const left = wrap(n.left, level(n.left) < lv);
      const right = wrap(n.right, level(n.right) <= lv);
      return `${left}${n.op}${right}`;
    }
    case "call":
      return `${n.fn}(${n.args.map((a) => render(a, extra)).join(", ")})`;
  }
}

const leaf: fc.Arbitrary<MathNode> = fc.oneof(
  fc.constant<MathNode>({ kind: "var" }),
  fc.oneof(fc.integer({ min: 0, max: 100 }), fc.double({ min: 0, max: 100, noNaN: true }))
    .map((value): MathNode => ({ kind: "num", value })),
);

const { tree } = fc.letrec<{ tree: MathNode }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    tie("tree").map((arg): MathNode => ({ kind: "neg", arg })),
    fc.tuple(fc.constantFrom<MathBinaryOp>("+", "-", "*", "/", "%", "^"), tie("tree"), tie("tree"))
      .map(([op, left, right]): MathNode => ({ kind: "bin", op, left, right })),
    fc.tuple(fc.constantFrom("floor", "ceil", "abs", "round", "sin", "cos"), tie("tree"))
      .map(([fn, a]): MathNode => ({ kind: "call", fn: fn as "floor", args: [a] })),
    fc.tuple(fc.constantFrom("min", "max", "pow"), fc.array(tie("tree"), { minLength: 2, maxLength: 3 }))
      .map(([fn, args]): MathNode => ({ kind: "call", fn: fn as "min", args: fn === "pow" ? args.slice(0, 2) : args })),
  ),
}));

function same(a: number, b: number): boolean {
  return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)) || a === b;
}

Deno.test("math: property: compiled == reference evaluator on minimal-parenthesis renderings", () => {
  fc.assert(
    fc.property(
      tree,
      fc.double({ noNaN: true, min: -1e6, max: 1e6 }),
      fc.infiniteStream(fc.boolean()),
      (ast, x, bits) => {
        const it = bits[Symbol.iterator]();
        const extra = () => it.next().value === true && it.next().value === true; // ~25% extra parentheses
        const src = render(ast, extra);
        const got = compileMath(src)(x);
        const want = evaluate(ast, x);
        assert.ok(same(got, want), `${src} at x=${x}: got ${got}, want ${want}`);
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("math: property: parse(render(ast)) evaluates like ast (no folding involved)", () => {
  fc.assert(
    fc.property(tree, fc.integer({ min: -1000, max: 1000 }), (ast, x) => {
      const src = render(ast, () => false);
      assert.ok(same(evaluate(parseMath(src), x), evaluate(ast, x)), src);
    }),
    { numRuns: 1000 },
  );
});

Deno.test("math: property: arbitrary text never throws anything but ParseError", () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(..."x0123456789.+-*/%^(), floorminpowE ?".split("")) }), (s) => {
      try {
        const f = compileMath(s);
        assert.equal(typeof f(1.5), "number");
      } catch (e) {
        assert.ok(e instanceof ParseError, `${JSON.stringify(s)}: ${e}`);
      }
    }),
    { numRuns: 3000 },
  );
});

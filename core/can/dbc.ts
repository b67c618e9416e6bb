/**
 * DBC parser: text of a `.dbc` file → {@link DbcDatabase}.
 *
 * Supported: `VERSION`, `NS_`/`BS_` (skipped), `BU_`, `BO_` with bit-31 extended IDs, `SG_` (Intel `@1`, Motorola `@0`,
 * signed `-`, factor, offset, min, max, unit, receivers), simple multiplexing (`M`, `mN`), extended multiplexing
 * (`mNM` and `SG_MUL_VAL_` with value ranges), `VAL_`, `VAL_TABLE_`, `SIG_VALTYPE_` (float32/float64), `CM_` (multi-line
 * strings, `\"` escapes), `BA_DEF_`, `BA_DEF_DEF_`, `BA_` (`GenMsgCycleTime` → `cycleTimeMs`, `VFrameFormat` →
 * `frameFormat`/`fd`/`extended`). Other sections (`EV_`, `BO_TX_BU_`, `SIG_GROUP_`, `BA_DEF_REL_`, `BA_REL_`, ...) are
 * skipped up to their `;`. `//` starts a comment running to the end of the line.
 *
 * Malformed input throws {@link ParseError} (`dbc.syntax`) with `file:line:column`; no input makes the parser throw
 * anything else.
 *
 * Compatibility notes (following cantools): the pseudo message `VECTOR__INDEPENDENT_SIG_MSG` is dropped; message and
 * signal `attributes` get the `BA_DEF_DEF_` defaults of their kind; `cycleTimeMs` is the `GenMsgCycleTime` attribute
 * (explicit or default; 0 means not cyclic and leaves it undefined); a message without `VFrameFormat` is FD when its length is over 8 bytes.
 * @module
 */
import { ParseError } from "../errors/mod.ts";
import type { AttributeDef, DbcDatabase, FrameFormat, MessageDef, MuxRange, SignalDef } from "./types.ts";

/** Options of {@link parseDbc}. */
export interface ParseDbcOptions {
  /** Name used in error locations (`file:line:column`). */
  filename?: string;
}

const enum T {
  Word,
  Number,
  String,
  Punct,
  End,
}

interface Token {
  type: T;
  text: string;
  value: number;
  line: number;
  column: number;
  /** First token on its line. */
  lineStart: boolean;
}

const PUNCT = new Set([":", "|", "@", "(", ")", "[", "]", ",", ";", "+", "-"]);
const WORD_STOP = new Set([":", "|", "@", "(", ")", "[", "]", ",", ";", '"']);

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11 || c === 0xfeff;
}

/** Split DBC text into tokens, tracking line and column. */
function tokenize(text: string, source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStartIdx = 0;
  let lastTokenLine = 0;
  const n = text.length;
  const err = (msg: string, at: number, atLine = line, atLineStart = lineStartIdx): never => {
    throw new ParseError("dbc.syntax", msg, { source, line: atLine, column: at - atLineStart + 1 });
  };
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      i++;
      lineStartIdx = i;
      continue;
    }
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === 47 && text.charCodeAt(i + 1) === 47) { // "//" comment
      while (i < n && text.charCodeAt(i) !== 10) i++;
      continue;
    }
    const startLine = line;
    const column = i - lineStartIdx + 1;
    const lineStart = lastTokenLine !== line;
    lastTokenLine = line;
    if (c === 34) { // string
      const startIdx = i;
      const startLineIdx = lineStartIdx;
      i++;
      let out = "";
      let closed = false;
      let segment = i;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 34) {
          out += text.slice(segment, i);
          i++;
          closed = true;
          break;
        }
        if (d === 92 && i + 1 < n) { // backslash escape
          out += text.slice(segment, i);
          const e = text[i + 1];
          out += e === "n" ? "\n" : e === "t" ? "\t" : e;
          if (e === "\n") {
            line++;
            lineStartIdx = i + 2;
          }
          i += 2;
          segment = i;
          continue;
        }
        if (d === 10) {
          line++;
          lineStartIdx = i + 1;
        }
        i++;
      }
      if (!closed) err("unterminated string (missing closing '\"')", startIdx, startLine, startLineIdx);
      tokens.push({ type: T.String, text: out, value: NaN, line: startLine, column, lineStart });
      lastTokenLine = line;
      continue;
    }
    const prev = i > 0 ? text.charCodeAt(i - 1) : 32;
    const prevIsWordChar = !isSpace(prev) && !WORD_STOP.has(text[i - 1] ?? " ");
    const signStart = (c === 43 || c === 45) && !prevIsWordChar &&
      (isDigit(text.charCodeAt(i + 1)) || (text.charCodeAt(i + 1) === 46 && isDigit(text.charCodeAt(i + 2))));
    if (isDigit(c) || signStart || (c === 46 && isDigit(text.charCodeAt(i + 1)))) {
      const m = /[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
      m.lastIndex = i;
      const r = m.exec(text)!;
      let end = i + r[0].length;
      const next = end < n ? text[end] : " ";
      if (!isSpace(next.charCodeAt(0)) && !PUNCT.has(next) && next !== '"' && next !== "/") {
        // Something like `1ABC`: a word that starts with a digit.
        while (end < n && !isSpace(text.charCodeAt(end)) && !WORD_STOP.has(text[end])) end++;
        tokens.push({ type: T.Word, text: text.slice(i, end), value: NaN, line, column, lineStart });
      } else {
        tokens.push({ type: T.Number, text: r[0], value: Number(r[0]), line, column, lineStart });
      }
      i = end;
      continue;
    }
    if (PUNCT.has(text[i])) {
      tokens.push({ type: T.Punct, text: text[i], value: NaN, line, column, lineStart });
      i++;
      continue;
    }
    let end = i;
    while (end < n && !isSpace(text.charCodeAt(end)) && !WORD_STOP.has(text[end])) {
      if (text.charCodeAt(end) === 47 && text.charCodeAt(end + 1) === 47) break;
      end++;
    }
    tokens.push({ type: T.Word, text: text.slice(i, end), value: NaN, line, column, lineStart });
    i = end;
  }
  tokens.push({ type: T.End, text: "<end of file>", value: NaN, line, column: i - lineStartIdx + 1, lineStart: true });
  return tokens;
}

const KEYWORDS = new Set([
  "VERSION",
  "NS_",
  "BS_",
  "BU_",
  "BO_",
  "SG_",
  "CM_",
  "BA_DEF_",
  "BA_DEF_DEF_",
  "BA_",
  "VAL_",
  "VAL_TABLE_",
  "SIG_VALTYPE_",
  "SG_MUL_VAL_",
  "EV_",
  "ENVVAR_DATA_",
  "SGTYPE_",
  "SGTYPE_VAL_",
  "BA_DEF_SGTYPE_",
  "BA_SGTYPE_",
  "SIG_TYPE_REF_",
  "SIG_GROUP_",
  "SIGTYPE_VALTYPE_",
  "BO_TX_BU_",
  "BA_DEF_REL_",
  "BA_REL_",
  "BA_DEF_DEF_REL_",
  "CAT_DEF_",
  "CAT_",
  "FILTER",
  "EV_DATA_",
  "NS_DESC_",
  "BU_SG_REL_",
  "BU_EV_REL_",
  "BU_BO_REL_",
]);

/** Vector's `VFrameFormat` enumeration by index. */
const FRAME_FORMATS: (FrameFormat | "reserved")[] = [
  "StandardCAN",
  "ExtendedCAN",
  "reserved",
  "J1939PG",
  "reserved",
  "reserved",
  "reserved",
  "reserved",
  "reserved",
  "reserved",
  "reserved",
  "reserved",
  "reserved",
  "reserved",
  "StandardCAN_FD",
  "ExtendedCAN_FD",
];
const KNOWN_FORMATS = new Set(["StandardCAN", "ExtendedCAN", "StandardCAN_FD", "ExtendedCAN_FD", "J1939PG"]);

interface PendingMessage {
  def: MessageDef;
  rawId: number;
  /** Where the `BO_` is, for errors found after the whole file is read. */
  line: number;
  column: number;
  explicitAttrs: Record<string, string | number>;
  signalAttrs: Map<string, Record<string, string | number>>;
  muxVals: Map<string, { switchName: string; ranges: MuxRange[] }>;
  /** Simple mux indicators per signal: value for `mN`, and whether it is a switch. */
  simpleMux: Map<string, { value?: number; isSwitch: boolean }>;
}

class Parser {
  pos = 0;
  readonly db: DbcDatabase = {
    version: "",
    nodes: [],
    messages: [],
    valueTables: new Map(),
    attributeDefinitions: [],
    attributes: {},
  };
  readonly byRawId = new Map<number, PendingMessage>();
  readonly pending: PendingMessage[] = [];
  readonly defaults = new Map<string, string | number>();

  constructor(readonly tokens: Token[], readonly source: string) {}

  atEnd(): boolean {
    return this.tokens[this.pos].type === T.End;
  }

  get tok(): Token {
    return this.tokens[this.pos];
  }

  fail(message: string, at: Token = this.tok): never {
    throw new ParseError("dbc.syntax", message, { source: this.source, line: at.line, column: at.column });
  }

  describe(t: Token): string {
    if (t.type === T.End) return "end of file";
    if (t.type === T.String) return `string "${t.text.slice(0, 40)}"`;
    return `'${t.text.slice(0, 40)}'`;
  }

  next(): Token {
    const t = this.tokens[this.pos];
    if (t.type !== T.End) this.pos++;
    return t;
  }

  expectPunct(p: string, what: string): void {
    const t = this.tok;
    if (t.type !== T.Punct || t.text !== p) this.fail(`expected '${p}' ${what}, found ${this.describe(t)}`);
    this.pos++;
  }

  optPunct(p: string): boolean {
    const t = this.tok;
    if (t.type === T.Punct && t.text === p) {
      this.pos++;
      return true;
    }
    return false;
  }

  number(what: string): number {
    const t = this.tok;
    if (t.type !== T.Number || !Number.isFinite(t.value)) {
      this.fail(`expected a number for ${what}, found ${this.describe(t)}`);
    }
    this.pos++;
    return t.value;
  }

  integer(what: string): number {
    const t = this.tok;
    const v = this.number(what);
    if (!Number.isInteger(v)) this.fail(`expected an integer for ${what}, found '${t.text}'`, t);
    return v;
  }

  word(what: string): string {
    const t = this.tok;
    if (t.type !== T.Word) this.fail(`expected ${what}, found ${this.describe(t)}`);
    this.pos++;
    return t.text;
  }

  /** A name that may also look like a number (some tools emit numeric node names). */
  name(what: string): string {
    const t = this.tok;
    if (t.type !== T.Word && t.type !== T.Number) this.fail(`expected ${what}, found ${this.describe(t)}`);
    this.pos++;
    return t.text;
  }

  string(what: string): string {
    const t = this.tok;
    if (t.type !== T.String) this.fail(`expected a quoted string for ${what}, found ${this.describe(t)}`);
    this.pos++;
    return t.text;
  }

  atStatementStart(): boolean {
    const t = this.tok;
    return t.type === T.End || (t.lineStart && t.type === T.Word && KEYWORDS.has(t.text));
  }

  /** Skip to just past the next `;` (or to the next statement keyword at a line start). */
  skipStatement(): void {
    while (true) {
      const t = this.tok;
      if (t.type === T.End) return;
      if (t.type === T.Punct && t.text === ";") {
        this.pos++;
        return;
      }
      this.pos++;
      if (this.atStatementStart()) return;
    }
  }

  end(): void {
    const t = this.tok;
    if (t.type === T.Punct && t.text === ";") {
      this.pos++;
      return;
    }
    this.fail(`expected ';' at the end of the statement, found ${this.describe(t)}`);
  }

  parse(): DbcDatabase {
    while (this.tok.type !== T.End) {
      const t = this.tok;
      if (t.type !== T.Word) this.fail(`expected a DBC keyword (BO_, SG_, CM_, ...), found ${this.describe(t)}`);
      this.pos++;
      switch (t.text) {
        case "VERSION":
          this.db.version = this.string("VERSION");
          break;
        case "NS_":
          this.optPunct(":");
          // The new-symbols list: names, one per line, usually indented. It ends at BS_/BU_/BO_, or at a column-1 word
          // with more on its line (a statement such as `CM_ "..." ;`).
          while (!this.atEnd()) {
            const t = this.tok;
            if (t.type !== T.Word || ["BS_", "BU_", "BO_", "VERSION"].includes(t.text)) break;
            const alone = this.tokens[this.pos + 1].lineStart;
            if (t.lineStart && t.column === 1 && !alone) break;
            this.pos++;
          }
          break;
        case "BS_":
          this.expectPunct(":", "after BS_");
          while (!this.atStatementStart()) this.pos++;
          break;
        case "BU_":
          this.expectPunct(":", "after BU_");
          while (!this.atStatementStart() && (this.tok.type === T.Word || this.tok.type === T.Number)) {
            this.db.nodes.push(this.next().text);
          }
          if (!this.atStatementStart()) this.fail(`expected a node name, found ${this.describe(this.tok)}`);
          break;
        case "BO_":
          this.message(t);
          break;
        case "SG_":
          this.fail("SG_ outside a message: signals must follow their BO_ line", t);
          break;
        case "CM_":
          this.comment();
          break;
        case "BA_DEF_":
          this.attributeDefinition();
          break;
        case "BA_DEF_DEF_":
          this.attributeDefault();
          break;
        case "BA_":
          this.attribute();
          break;
        case "VAL_":
          this.valueDescriptions();
          break;
        case "VAL_TABLE_":
          this.valueTable();
          break;
        case "SIG_VALTYPE_":
          this.signalValueType();
          break;
        case "SG_MUL_VAL_":
          this.muxValues();
          break;
        default:
          if (!KEYWORDS.has(t.text)) this.fail(`unknown keyword '${t.text.slice(0, 40)}'`, t);
          this.skipStatement();
      }
    }
    return this.finish();
  }

  message(kw: Token): void {
    const idTok = this.tok;
    const rawId = this.integer("the message ID");
    if (rawId < 0 || rawId > 0xffffffff) this.fail(`message ID ${rawId} is out of range`, idTok);
    const name = this.name("a message name");
    this.expectPunct(":", "after the message name");
    const lenTok = this.tok;
    const length = this.integer("the message length");
    if (length < 0 || length > 64) this.fail(`message length ${length} is out of range 0-64`, lenTok);
    const sender = this.atStatementStart() ? "" : this.name("the sending node");
    const extended = rawId >= 0x80000000;
    const id = extended ? (rawId - 0x80000000) & 0x1fffffff : rawId;
    if (id > 0x1fffffff) this.fail(`message ID ${rawId} does not fit 29 bits`, idTok);
    const p: PendingMessage = {
      def: {
        id,
        extended,
        name,
        length,
        sender,
        signals: [],
        frameFormat: "StandardCAN",
        fd: false,
        attributes: {},
      },
      rawId,
      line: kw.line,
      column: kw.column,
      explicitAttrs: {},
      signalAttrs: new Map(),
      muxVals: new Map(),
      simpleMux: new Map(),
    };
    while (this.tok.type === T.Word && this.tok.text === "SG_") {
      this.pos++;
      this.signal(p);
    }
    if (!this.atStatementStart()) this.fail(`unexpected ${this.describe(this.tok)} after message ${name}`);
    if (name === "VECTOR__INDEPENDENT_SIG_MSG") return;
    if (this.byRawId.has(rawId)) this.fail(`duplicate message ID ${rawId} (${name})`, kw);
    this.byRawId.set(rawId, p);
    this.pending.push(p);
  }

  signal(p: PendingMessage): void {
    const name = this.name("a signal name");
    let isSwitch = false;
    let muxValue: number | undefined;
    if (!(this.tok.type === T.Punct && this.tok.text === ":")) {
      const t = this.next();
      const m = t.type === T.Word ? /^(?:m(\d+))?(M)?$/.exec(t.text) : null;
      if (!m || (!m[1] && !m[2])) this.fail(`expected ':' or a multiplexer indicator (M, m1, m1M) after ${name}`, t);
      isSwitch = m[2] === "M";
      if (m[1] !== undefined) muxValue = Number(m[1]);
    }
    this.expectPunct(":", `after signal ${name}`);
    const startTok = this.tok;
    const startBit = this.integer("the start bit");
    this.expectPunct("|", "between start bit and length");
    const lenTok = this.tok;
    const length = this.integer("the signal length");
    if (length < 1 || length > 64) this.fail(`signal ${name}: length ${length} is out of range 1-64`, lenTok);
    if (startBit < 0 || startBit >= 512) {
      this.fail(`signal ${name}: start bit ${startBit} is out of range 0-511`, startTok);
    }
    this.expectPunct("@", "before the byte order");
    const orderTok = this.tok;
    const order = this.integer("the byte order");
    if (order !== 0 && order !== 1) {
      this.fail(`signal ${name}: byte order must be @0 (Motorola) or @1 (Intel)`, orderTok);
    }
    const signTok = this.tok;
    if (signTok.type !== T.Punct || (signTok.text !== "+" && signTok.text !== "-")) {
      this.fail(`signal ${name}: expected '+' (unsigned) or '-' (signed), found ${this.describe(signTok)}`);
    }
    this.pos++;
    this.expectPunct("(", "before factor,offset");
    const factor = this.number("the factor");
    this.expectPunct(",", "between factor and offset");
    const offset = this.number("the offset");
    this.expectPunct(")", "after factor,offset");
    this.expectPunct("[", "before minimum|maximum");
    const minimum = this.number("the minimum");
    this.expectPunct("|", "between minimum and maximum");
    const maximum = this.number("the maximum");
    this.expectPunct("]", "after minimum|maximum");
    const unit = this.string("the unit");
    const receivers: string[] = [];
    while (!this.tok.lineStart && this.tok.type !== T.End) {
      const t = this.next();
      if (t.type === T.Punct && t.text === ",") continue;
      if (t.type !== T.Word && t.type !== T.Number) {
        this.fail(`expected a receiver node name, found ${this.describe(t)}`, t);
      }
      if (t.text !== "Vector__XXX") receivers.push(t.text);
    }
    if (p.def.signals.some((s) => s.name === name)) {
      this.fail(`duplicate signal ${name} in message ${p.def.name}`, startTok);
    }
    p.def.signals.push({
      name,
      startBit,
      length,
      byteOrder: order === 1 ? "little_endian" : "big_endian",
      signed: signTok.text === "-",
      valueType: "integer",
      factor,
      offset,
      minimum,
      maximum,
      unit,
      receivers,
      mux: { isMultiplexer: isSwitch },
      attributes: {},
    });
    if (isSwitch || muxValue !== undefined) p.simpleMux.set(name, { value: muxValue, isSwitch });
  }

  findMessage(t: Token, rawId: number): PendingMessage | undefined {
    void t;
    return this.byRawId.get(rawId);
  }

  comment(): void {
    const t = this.tok;
    if (t.type === T.String) {
      this.db.comment = this.string("the comment");
      this.end();
      return;
    }
    const kind = this.word("BU_, BO_, SG_, EV_ or a string after CM_");
    if (kind === "BU_" || kind === "EV_") {
      this.name("a name");
      this.string("the comment");
    } else if (kind === "BO_") {
      const idTok = this.tok;
      const id = this.integer("the message ID");
      const text = this.string("the comment");
      const m = this.findMessage(idTok, id);
      if (m) m.def.comment = text;
    } else if (kind === "SG_") {
      const idTok = this.tok;
      const id = this.integer("the message ID");
      const sig = this.name("the signal name");
      const text = this.string("the comment");
      const s = this.findMessage(idTok, id)?.def.signals.find((x) => x.name === sig);
      if (s) s.comment = text;
    } else {
      this.fail(`unknown comment target '${kind}' (expected BU_, BO_, SG_ or EV_)`, t);
    }
    this.end();
  }

  attributeDefinition(): void {
    let kind = "";
    if (this.tok.type === T.Word && ["BU_", "BO_", "SG_", "EV_"].includes(this.tok.text)) kind = this.next().text;
    const name = this.string("the attribute name");
    const typeTok = this.tok;
    const type = this.word("the attribute type (INT, HEX, FLOAT, STRING, ENUM)");
    const def: AttributeDef = { name, kind, type };
    if (type === "INT" || type === "HEX" || type === "FLOAT") {
      if (this.tok.type === T.Number) {
        def.minimum = this.number("the attribute minimum");
        def.maximum = this.number("the attribute maximum");
      }
    } else if (type === "ENUM") {
      def.enumValues = [];
      while (this.tok.type === T.String) {
        def.enumValues.push(this.next().text);
        if (!this.optPunct(",")) break;
      }
    } else if (type !== "STRING") {
      this.fail(`unknown attribute type '${type}' (expected INT, HEX, FLOAT, STRING or ENUM)`, typeTok);
    }
    this.end();
    this.db.attributeDefinitions.push(def);
  }

  attributeValue(what: string): string | number {
    const t = this.tok;
    if (t.type === T.String || t.type === T.Number) {
      this.pos++;
      return t.type === T.String ? t.text : t.value;
    }
    return this.fail(`expected a value for ${what}, found ${this.describe(t)}`);
  }

  /** Turn an enum index into its label. */
  normalize(name: string, value: string | number): string | number {
    const def = this.db.attributeDefinitions.find((d) => d.name === name);
    if (def?.type === "ENUM" && typeof value === "number" && def.enumValues) {
      return def.enumValues[value] ?? value;
    }
    return value;
  }

  attributeDefault(): void {
    const name = this.string("the attribute name");
    const value = this.attributeValue(`the default of ${name}`);
    this.end();
    this.defaults.set(name, value);
    const def = this.db.attributeDefinitions.find((d) => d.name === name);
    if (def) def.default = value;
  }

  attribute(): void {
    const name = this.string("the attribute name");
    const t = this.tok;
    if (t.type === T.Word && ["BU_", "BO_", "SG_", "EV_"].includes(t.text)) {
      this.pos++;
      if (t.text === "BO_") {
        const idTok = this.tok;
        const id = this.integer("the message ID");
        const value = this.attributeValue(name);
        const m = this.findMessage(idTok, id);
        if (m) m.explicitAttrs[name] = this.normalize(name, value);
      } else if (t.text === "SG_") {
        const idTok = this.tok;
        const id = this.integer("the message ID");
        const sig = this.name("the signal name");
        const value = this.attributeValue(name);
        const m = this.findMessage(idTok, id);
        if (m) {
          let a = m.signalAttrs.get(sig);
          if (!a) m.signalAttrs.set(sig, a = {});
          a[name] = this.normalize(name, value);
        }
      } else {
        this.name("a name");
        this.attributeValue(name);
      }
    } else {
      this.db.attributes[name] = this.normalize(name, this.attributeValue(name));
    }
    this.end();
  }

  pairs(what: string): Map<number, string> {
    const map = new Map<number, string>();
    while (this.tok.type === T.Number) {
      const t = this.tok;
      const v = this.number(what);
      if (!Number.isInteger(v)) this.fail(`${what}: value ${t.text} is not an integer`, t);
      map.set(v, this.string(`the label of value ${v}`));
    }
    this.end();
    return map;
  }

  valueDescriptions(): void {
    const t = this.tok;
    if (t.type === T.Number) {
      const id = this.integer("the message ID");
      const sig = this.name("the signal name");
      const choices = this.pairs(`VAL_ ${sig}`);
      const s = this.findMessage(t, id)?.def.signals.find((x) => x.name === sig);
      if (s) s.choices = choices;
    } else {
      this.name("an environment variable name");
      this.pairs("VAL_");
    }
  }

  valueTable(): void {
    const name = this.name("the value table name");
    this.db.valueTables.set(name, this.pairs(`VAL_TABLE_ ${name}`));
  }

  signalValueType(): void {
    const idTok = this.tok;
    const id = this.integer("the message ID");
    const sig = this.name("the signal name");
    this.optPunct(":");
    const vTok = this.tok;
    const v = this.integer("the value type (0 integer, 1 float32, 2 float64)");
    if (v < 0 || v > 2) this.fail(`SIG_VALTYPE_ ${sig}: value type must be 0, 1 or 2`, vTok);
    this.end();
    const s = this.findMessage(idTok, id)?.def.signals.find((x) => x.name === sig);
    if (!s) return;
    s.valueType = v === 1 ? "float32" : v === 2 ? "float64" : "integer";
    const need = v === 1 ? 32 : v === 2 ? 64 : 0;
    if (need && s.length !== need) {
      this.fail(`SIG_VALTYPE_ ${sig}: a ${s.valueType} signal must be ${need} bits long, not ${s.length}`, vTok);
    }
  }

  muxValues(): void {
    const idTok = this.tok;
    const id = this.integer("the message ID");
    const sig = this.name("the multiplexed signal name");
    const switchName = this.name("the multiplexer switch name");
    const ranges: MuxRange[] = [];
    while (this.tok.type === T.Number) {
      const lo = this.integer("the range start");
      this.expectPunct("-", "in the value range (e.g. 1-3)");
      const hiTok = this.tok;
      const hi = this.integer("the range end");
      if (hi < lo) this.fail(`SG_MUL_VAL_ ${sig}: range ${lo}-${hi} is empty`, hiTok);
      ranges.push({ min: lo, max: hi });
      if (!this.optPunct(",")) break;
    }
    if (ranges.length === 0) this.fail(`SG_MUL_VAL_ ${sig}: expected at least one value range such as 1-1`);
    this.end();
    const m = this.findMessage(idTok, id);
    if (m) m.muxVals.set(sig, { switchName, ranges });
  }

  finish(): DbcDatabase {
    const defsByKind = (kind: string) => this.db.attributeDefinitions.filter((d) => d.kind === kind);
    const withDefaults = (kind: string, explicit: Record<string, string | number>) => {
      const out: Record<string, string | number> = {};
      for (const d of defsByKind(kind)) {
        if (this.defaults.has(d.name)) out[d.name] = this.normalize(d.name, this.defaults.get(d.name)!);
      }
      return Object.assign(out, explicit);
    };
    for (const p of this.pending) {
      const m = p.def;
      m.attributes = withDefaults("BO_", p.explicitAttrs);
      const cycle = m.attributes["GenMsgCycleTime"];
      if (typeof cycle === "number" && cycle > 0) m.cycleTimeMs = cycle;
      const ff = m.attributes["VFrameFormat"];
      let format: string | undefined;
      if (typeof ff === "number") format = FRAME_FORMATS[ff];
      else if (typeof ff === "string") format = ff;
      if (format && KNOWN_FORMATS.has(format)) {
        m.frameFormat = format as FrameFormat;
      } else {
        m.frameFormat = m.length > 8
          ? (m.extended ? "ExtendedCAN_FD" : "StandardCAN_FD")
          : (m.extended ? "ExtendedCAN" : "StandardCAN");
      }
      m.fd = m.frameFormat.endsWith("_FD");
      if (m.frameFormat.startsWith("Extended") || m.frameFormat === "J1939PG") m.extended = true;
      const switchNames = [...p.simpleMux].filter(([, v]) => v.isSwitch).map(([k]) => k);
      for (const s of m.signals) {
        s.attributes = withDefaults("SG_", p.signalAttrs.get(s.name) ?? {});
        const ext = p.muxVals.get(s.name);
        const simple = p.simpleMux.get(s.name);
        if (ext) {
          s.mux.multiplexerSignal = ext.switchName;
          s.mux.multiplexerValues = ext.ranges;
        } else if (simple?.value !== undefined) {
          // Simple multiplexing: the message's (only) plain `M` switch.
          const sw = switchNames.find((n) => n !== s.name && p.simpleMux.get(n)?.value === undefined) ?? switchNames[0];
          if (sw === undefined || sw === s.name) {
            throw new ParseError(
              "dbc.mux",
              `signal ${s.name} of ${m.name} is multiplexed (m${simple.value}) but the message has no multiplexer switch (M)`,
              {
                source: this.source,
                line: p.line,
                column: p.column,
              },
            );
          }
          s.mux.multiplexerSignal = sw;
          s.mux.multiplexerValues = [{ min: simple.value, max: simple.value }];
        }
      }
      const names = new Set(m.signals.map((s) => s.name));
      for (const s of m.signals) {
        if (s.mux.multiplexerSignal !== undefined && !names.has(s.mux.multiplexerSignal)) {
          throw new ParseError(
            "dbc.mux",
            `signal ${s.name} of ${m.name} is multiplexed by ${s.mux.multiplexerSignal}, which is not a signal of that message`,
            { source: this.source, line: p.line, column: p.column },
          );
        }
      }
      // Multiplexer chains must end: reject cycles (a → b → a).
      for (const s of m.signals) {
        let cur: SignalDef | undefined = s;
        for (let depth = 0; cur?.mux.multiplexerSignal !== undefined; depth++) {
          if (depth > m.signals.length) {
            throw new ParseError("dbc.mux", `multiplexer cycle through signal ${s.name} of ${m.name}`, {
              source: this.source,
              line: p.line,
              column: p.column,
            });
          }
          const want: string = cur.mux.multiplexerSignal;
          cur = m.signals.find((x) => x.name === want);
          if (cur) cur.mux.isMultiplexer = true;
        }
      }
      this.db.messages.push(m);
    }
    return this.db;
  }
}

/**
 * Parse the text of a DBC file.
 *
 * @param text the file's contents
 * @param options `filename` for error locations
 * @returns the database; messages keep file order, signals keep `SG_` order
 * @throws {ParseError} `dbc.syntax` / `dbc.mux` with file:line:column on malformed input
 *
 * @example
 * ```ts
 * import { parseDbc } from "./dbc.ts";
 * const db = parseDbc('BO_ 291 Msg: 8 ECU\n SG_ Sig : 0|8@1+ (0.5,0) [0|127.5] "km/h" Vector__XXX\n');
 * console.log(db.messages[0].signals[0].factor); // 0.5
 * ```
 */
export function parseDbc(text: string, options: ParseDbcOptions = {}): DbcDatabase {
  const source = options.filename ?? "<dbc>";
  return new Parser(tokenize(text, source), source).parse();
}

/**
 * Read and parse a DBC file from disk (UTF-8; falls back to Latin-1 when the bytes are not valid UTF-8, as many DBC
 * editors write CP1252).
 *
 * @param path file path
 * @throws {ParseError} on malformed content; Deno file errors when it cannot be read
 */
export async function loadDbc(path: string): Promise<DbcDatabase> {
  const bytes = await Deno.readFile(path);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    text = new TextDecoder("latin1").decode(bytes);
  }
  return parseDbc(text, { filename: path });
}

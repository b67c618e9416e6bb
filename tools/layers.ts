/**
 * The layering rules of CONTRIBUTING.md, checked on the import graph of every TypeScript file (static imports,
 * re-exports and `import("…")` with a literal path):
 *
 * - `wasm/` is a leaf: it imports nothing of ours.
 * - `core/` never imports `vec/`, `cesc/` or `tools/`; production code (not `*_test.ts`, `*_bench.ts`, `tools/`)
 *   never imports `testing/`.
 * - Folders do not import each other in a cycle (`core/can` → `core/vss` → `core/can` is one), and other folders
 *   import a folder only through its `mod.ts`.
 *
 *   deno run --allow-read tools/layers.ts      # prints every violation, exit 1 when there is one
 * @module
 */
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");
const SKIP = new Set(["node_modules", ".git", "dist", "wasm/assembly", "wasm/build", ".cache", "assets", "testdata"]);
const IMPORT_RE = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/gm;

/** One import edge between two project files (paths relative to the repository root). */
export interface ImportEdge {
  /** The importing file. */
  from: string;
  /** The imported file. */
  to: string;
}

function walk(dir: string, out: string[]): void {
  for (const e of Deno.readDirSync(join(ROOT, dir))) {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (SKIP.has(rel) || e.name.startsWith(".")) continue;
    if (e.isDirectory) walk(rel, out);
    else if (e.name.endsWith(".ts")) out.push(rel);
  }
}

/** Every import edge between the project's own TypeScript files. */
export function importEdges(): ImportEdge[] {
  const files: string[] = [];
  walk("", files);
  const edges: ImportEdge[] = [];
  for (const from of files) {
    const text = Deno.readTextFileSync(join(ROOT, from)).replace(/^\s*\*.*$/gm, "").replace(/\/\/.*$/gm, "");
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2];
      if (!spec.startsWith(".")) continue;
      edges.push({ from, to: relative(ROOT, resolve(ROOT, dirname(from), spec)) });
    }
  }
  return edges;
}

/** The folder a file belongs to for layering: `core/<concern>` or the top-level folder. */
export function folderOf(file: string): string {
  const parts = file.split("/");
  if (parts[0] === "core" && parts.length > 2) return `core/${parts[1]}`;
  return parts.length > 1 ? parts[0] : ".";
}

const isTestOrBench = (f: string) => /_(test|bench)\.ts$/.test(f) || f.startsWith("testing/");

/** Violations of the rules in the module doc, one line each. */
export function layerViolations(edges: readonly ImportEdge[] = importEdges()): string[] {
  const out: string[] = [];
  const graph = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    const a = folderOf(from), b = folderOf(to);
    if (a === "wasm" && b !== "wasm") out.push(`wasm/ is a leaf: ${from} imports ${to}`);
    if (a.startsWith("core") && /^(vec|cesc|tools)$/.test(b)) {
      out.push(`core imports a service: ${from} → ${to}`);
    }
    if (b === "testing" && !isTestOrBench(from) && !from.startsWith("tools/")) {
      out.push(`production code imports testing/: ${from} → ${to}`);
    }
    if (a === b || isTestOrBench(from)) continue;
    if (b.startsWith("core/") && !to.endsWith("/mod.ts")) out.push(`${from} imports ${to}, not ${b}/mod.ts`);
    if (!graph.has(a)) graph.set(a, new Set());
    graph.get(a)!.add(b);
  }
  for (const cycle of folderCycles(graph)) out.push(`folder cycle: ${cycle.join(" → ")}`);
  return out;
}

/** Each elementary cycle found by a depth-first search from every folder (reported once per set of folders). */
function folderCycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const seen = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string, stack: string[]) => {
    for (const next of graph.get(node) ?? []) {
      const at = stack.indexOf(next);
      if (at >= 0) {
        const cycle = [...stack.slice(at), next];
        const key = [...new Set(cycle)].sort().join(",");
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(cycle);
        }
      } else if (stack.length < 12) visit(next, [...stack, next]);
    }
  };
  for (const node of graph.keys()) visit(node, [node]);
  return cycles;
}

if (import.meta.main) {
  const v = layerViolations();
  for (const line of v) console.log(line);
  console.log(v.length === 0 ? "layers: ok" : `layers: ${v.length} violation(s)`);
  Deno.exit(v.length === 0 ? 0 : 1);
}

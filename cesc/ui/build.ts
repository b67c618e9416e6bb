/**
 * `deno task ui:build`: assembles the CESC dashboard in `cesc/ui/dist/` (served at `/ui`): the page,
 * its script and styles, and uPlot's browser build copied from `node_modules/uplot/dist/` so the page
 * works offline (no CDN). `--check` exits 1 when dist is missing or older than its sources.
 * @module
 */
import { parseArgs } from "node:util";

const HERE = new URL("./", import.meta.url);
const DIST = new URL("./dist/", HERE);
const UPLOT = new URL("../../node_modules/uplot/dist/", HERE);
const SOURCES: [URL, string][] = [
  [new URL("index.html", HERE), "index.html"],
  [new URL("app.js", HERE), "app.js"],
  [new URL("style.css", HERE), "style.css"],
  [new URL("uPlot.iife.min.js", UPLOT), "uPlot.iife.min.js"],
  [new URL("uPlot.min.css", UPLOT), "uPlot.min.css"],
];
const USAGE = "usage: deno task ui:build [--check]\n  builds cesc/ui/dist/ (the dashboard served at /ui)";

async function mtime(u: URL): Promise<number> {
  try {
    return (await Deno.stat(u)).mtime?.getTime() ?? 0;
  } catch {
    return -1;
  }
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: { check: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      strict: true,
    }));
  } catch (e) {
    console.error(`ui:build: ${(e as Error).message}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  for (const [src] of SOURCES) {
    if (await mtime(src) < 0) {
      console.error(`ui:build: missing ${decodeURIComponent(src.pathname)}; run npm ci`);
      return 1;
    }
  }
  if (values.check) {
    for (const [src, name] of SOURCES) {
      if (await mtime(new URL(name, DIST)) < await mtime(src)) {
        console.error(`ui:build: cesc/ui/dist/${name} is missing or stale; run deno task ui:build`);
        return 1;
      }
    }
    return 0;
  }
  await Deno.mkdir(DIST, { recursive: true });
  let bytes = 0;
  for (const [src, name] of SOURCES) {
    const data = await Deno.readFile(src);
    await Deno.writeFile(new URL(name, DIST), data);
    bytes += data.byteLength;
  }
  console.log(`ui:build: ${SOURCES.length} files, ${bytes} bytes in cesc/ui/dist/`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());

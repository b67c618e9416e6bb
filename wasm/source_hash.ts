/**
 * Hash of the AssemblyScript sources, shared by the build script and the
 * freshness test.
 * @module
 */
import { createHash } from "node:crypto";

/** Absolute path of the `wasm/` folder. */
export const wasmDir: string = new URL(".", import.meta.url).pathname.replace(/\/$/, "");

/** SHA-256 (hex) over every file under `wasm/assembly/`, in path order, with the build flags' file. */
export async function sourceHash(): Promise<string> {
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (e.isFile) files.push(p);
    }
  };
  try {
    await walk(`${wasmDir}/assembly`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  files.push(`${wasmDir}/build.ts`);
  files.sort();
  const h = createHash("sha256");
  for (const f of files) {
    h.update(f.slice(wasmDir.length));
    h.update("\0");
    h.update(await Deno.readFile(f));
    h.update("\0");
  }
  return h.digest("hex");
}

/**
 * `sign`: sign one HTTP request or MQTT message with the CCS envelope (core/security) and print the
 * headers, curl arguments, or the MQTT JSON wrapper. For manual tests against a CESC and to
 * reproduce the worked example of the envelope specification.
 *
 * Usage: `deno task sign --keys keys.txt --key-id k1 --sender car-1 --path /v1/telemetry --body '{}'`
 * @module
 */
import { parseArgs } from "node:util";
import { createSigner, KeyStore } from "../core/security/mod.ts";
import { PipelineError } from "../core/errors/mod.ts";

const HELP = `sign: sign an HTTP request or MQTT message with the CCS envelope

Usage: deno task sign [options]
  --keys FILE          key file (<keyId>=hex:<…> or <keyId>=base64:<…> per line)
  --keys-env NAME      read keys from this environment variable instead (default CCS_KEYS)
  --key-id ID          key id to sign with (required)
  --sender ID          sender id (required)
  --method M           HTTP method (default POST)
  --path P             request path and query (required unless --topic)
  --topic T            sign an MQTT message for topic T instead; prints the JSON wrapper
  --body TEXT          body text (default empty)
  --body-file FILE     body bytes from a file (- for stdin)
  --counter N          counter (default: now in ms × 1000)
  --timestamp MS       timestamp in ms since the epoch (default: now)
  --tag-bits B         tag length, multiple of 8 from 32 to 256 (default 128)
  --format F           headers (default) | curl | json
  -h, --help           this text`;

function die(code: number, msg: string): never {
  console.error(`sign: ${msg}`);
  Deno.exit(code);
}

let values;
try {
  values = parseArgs({
    args: Deno.args,
    strict: true,
    options: {
      keys: { type: "string" },
      "keys-env": { type: "string" },
      "key-id": { type: "string" },
      sender: { type: "string" },
      method: { type: "string", default: "POST" },
      path: { type: "string" },
      topic: { type: "string" },
      body: { type: "string" },
      "body-file": { type: "string" },
      counter: { type: "string" },
      timestamp: { type: "string" },
      "tag-bits": { type: "string", default: "128" },
      format: { type: "string", default: "headers" },
      help: { type: "boolean", short: "h" },
    },
  }).values;
} catch (e) {
  die(2, (e as Error).message);
}
if (values.help) {
  console.log(HELP);
  Deno.exit(0);
}
const keyId = values["key-id"], sender = values.sender;
if (!keyId || !sender) die(2, "--key-id and --sender are required");
if (!values.path && !values.topic) die(2, "give --path (HTTP) or --topic (MQTT)");
if (!["headers", "curl", "json"].includes(values.format)) die(2, "--format must be headers, curl or json");
const int = (name: string, s: string | undefined) => {
  if (s === undefined) return undefined;
  if (!/^\d{1,16}$/.test(s) || !Number.isSafeInteger(Number(s))) die(2, `--${name} must be a non-negative integer`);
  return Number(s);
};
const counter = int("counter", values.counter);
const timestamp = int("timestamp", values.timestamp);
const tagBits = int("tag-bits", values["tag-bits"])!;

try {
  const keys = values.keys ? await KeyStore.fromFile(values.keys) : KeyStore.fromEnv({ name: values["keys-env"] });
  const key = keys.get(keyId);
  if (!key) throw new PipelineError("security.unknown_key", `key id ${keyId} is not in the key store`);
  let body: Uint8Array | string = values.body ?? "";
  if (values["body-file"] === "-") body = new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
  else if (values["body-file"]) body = await Deno.readFile(values["body-file"]);
  const signer = createSigner({
    keyId,
    key,
    senderId: sender,
    tagBits,
    ...(timestamp !== undefined ? { now: () => timestamp } : {}),
    ...(counter !== undefined ? { counterStart: counter } : {}),
  });
  if (values.topic) {
    console.log(signer.signMessage({ topic: values.topic, body }));
  } else {
    const headers = signer.signHttp({ method: values.method, path: values.path!, body });
    if (values.format === "json") console.log(JSON.stringify(headers));
    else if (values.format === "curl") {
      console.log(Object.entries(headers).map(([k, v]) => `-H '${k}: ${v}'`).join(" "));
    } else for (const [k, v] of Object.entries(headers)) console.log(`${k}: ${v}`);
  }
} catch (e) {
  die(1, e instanceof Error ? e.message : String(e));
}

/**
 * `deno task vec`: the vehicle edge client. Flags and wiring only; the work is in {@link startVec}.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { PipelineError } from "../core/errors/mod.ts";
import { createLogger, isLevel, LEVELS } from "../core/log/mod.ts";
import { loadVecConfig } from "./config.ts";
import { startVec } from "./app.ts";

const HELP = `vec — the vehicle edge client: CAN frames in, VSS datapoints out (CESC push, MQTT)

Usage: deno task vec [options]

Source (one of):
      --source can|viss  CAN bus (default) or a VISSv2 server over WebSocket (the original VEC)
      --interface IF     read SocketCAN interface IF (e.g. can0; needs CAP_NET_RAW)
      --replay FILE      replay a candump log (candump -L format)
      --speed N          replay speed: 1 real time (default), N times faster, 0 as fast as possible
      --loop             replay the log again and again
  -w, --vissv2Url URL    VISSv2 server (--source viss): ws://host:port, wss://…, or a host (ws://host:8081)
      --requests FILE    VISSv2 subscribe requests (default ./vecRequests.json, the original's format)

Destinations and settings:
  -c, --config FILE      config.json (default ./config.json; the ESP gateway's keys plus sections)
  -u, --cecUrl URL       CESC base URL, e.g. http://127.0.0.1:8000, or a host (then http://host:8000, as the
                         original); overrides cesc.url
      --vin VIN          vehicle identification number (otherwise from the VIN signal)
      --dbc FILE         DBC file (default: the bundled Model3CAN.dbc)
      --mapping FILE     Kuksa vss_dbc.json mapping (default: the bundled VSS 4.0 mapping)
      --port N           REST API port (default 5000; 0 = any free port)
      --no-api           do not start the REST API
      --state DIR        folder of the on-disk queues (default ./state)
      --logfile DIR      also write logs to DIR/vec.log (JSON lines)
      --loglevel LEVEL   ${LEVELS.join("|")} (default info)
  -h, --help             show this help

Examples:
  deno task vec --replay assets/demo/model3_drive.log --speed 10 -u http://127.0.0.1:8000 --vin DEMO0000000000001
  deno task vec --interface can0 --config /etc/vec/config.json
`;

function fail(message: string, code: number): never {
  console.error(`vec: ${message}`);
  Deno.exit(code);
}

async function main(args: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: "boolean", short: "h" },
        config: { type: "string", short: "c" },
        cecUrl: { type: "string", short: "u" },
        interface: { type: "string" },
        source: { type: "string" },
        vissv2Url: { type: "string", short: "w" },
        requests: { type: "string" },
        replay: { type: "string" },
        speed: { type: "string" },
        loop: { type: "boolean" },
        vin: { type: "string" },
        dbc: { type: "string" },
        mapping: { type: "string" },
        port: { type: "string" },
        "no-api": { type: "boolean" },
        state: { type: "string" },
        logfile: { type: "string" },
        loglevel: { type: "string" },
      },
    });
  } catch (e) {
    fail(`${(e as Error).message} (see --help)`, 2);
  }
  const v = parsed.values;
  if (v.help) {
    console.log(HELP);
    return;
  }
  const level = v.loglevel ?? "info";
  if (!isLevel(level)) fail(`--loglevel must be one of ${LEVELS.join(", ")}`, 2);
  if (v.interface && v.replay) fail("--interface and --replay are mutually exclusive", 2);
  const num = (name: string, value: string | undefined, min: number, max: number) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) fail(`--${name} must be a number from ${min} to ${max}`, 2);
    return n;
  };
  const speed = num("speed", v.speed, 0, 1e6);
  const port = num("port", v.port, 0, 65535);
  let cecUrl = v.cecUrl;
  if (cecUrl !== undefined && !/^https?:\/\/[^/]/.test(cecUrl)) {
    if (/^[a-z]+:\/\//i.test(cecUrl) || !/^[\w.\-\[\]:]+$/.test(cecUrl)) {
      fail(`--cecUrl must be an http(s):// URL or a host name, got "${cecUrl}"`, 2);
    }
    cecUrl = `http://${cecUrl}:8000`;
  }
  if (v.source !== undefined && v.source !== "can" && v.source !== "viss") fail("--source must be can or viss", 2);

  const logger = createLogger("vec", { level, dir: v.logfile });
  try {
    const config = await loadVecConfig(v.config ?? "./config.json", { required: v.config !== undefined });
    if (cecUrl) config.cesc.url = cecUrl;
    if (v.source) config.source = v.source as "can" | "viss";
    if (v.vissv2Url) config.viss.url = v.vissv2Url;
    if (v.requests) config.viss.requests = v.requests;
    if (v.interface) [config.can.interface, config.can.log] = [v.interface, undefined];
    if (v.replay) [config.can.log, config.can.interface] = [v.replay, undefined];
    if (speed !== undefined) config.can.speed = speed;
    if (v.loop) config.can.loop = true;
    if (v.vin) config.vin = v.vin;
    if (v.dbc) config.can.dbc = v.dbc;
    if (v.mapping) config.can.mapping = v.mapping;
    if (port !== undefined) config.api.port = port;
    if (v["no-api"]) config.api.enabled = false;
    if (v.state) config.queue.dir = v.state;
    if (config.source === "can" && !config.can.interface && !config.can.log) {
      fail("no CAN source: give --interface IF or --replay FILE (or can.interface / can.log in the config)", 2);
    }

    const vec = await startVec(config, { logger });
    const stop = () => {
      logger.info("stopping");
      vec.stop();
    };
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    const summary = await vec.done;
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    logger.info("stopped", { ...summary });
  } catch (e) {
    if (e instanceof PipelineError) fail(e.message, 1);
    throw e;
  }
}

if (import.meta.main) await main(Deno.args);

import { parseArgs } from "node:util";
import { PipelineError } from "../core/errors/mod.ts";
import { isLevel, type Level } from "../core/log/mod.ts";

/** The CESC command line, parsed and validated. */
export interface CescConfig {
  /** Show help. */
  help: boolean;
  /** Log to a file in `logDir`. */
  logfile: boolean;
  /** Log directory. */
  logDir: string;
  /** Log level. */
  loglevel: Level;
  /** Address to bind. */
  host: string;
  /** Plain HTTP port. */
  port: number;
  /** TLS port. */
  tlsPort: number;
  /** TLS certificate file. */
  cert?: string;
  /** TLS key file. */
  key?: string;
  /** Client CA file. */
  ca?: string;
  /** OVDS database file. */
  db: string;
  /** VSS catalog (JSON) every ingest path validates against; default the shipped VSS 4.0 catalog. */
  catalog?: string;
  /** SQLite synchronous mode. */
  sync: "full" | "normal";
  /** Data map file. */
  datamap?: string;
  /** Count trigger. */
  maxDatapoints: number;
  /** Timer trigger in ms. */
  flushIntervalMs: number;
  /** Backend kind. */
  backend: "dig" | "http" | "none";
  /** `--backend` was given (otherwise DIG is used only when credentials are available). */
  backendExplicit: boolean;
  /** Backend URL. */
  backendUrl?: string;
  /** DIG credentials file. */
  credentials?: string;
  /** Largest body in bytes. */
  maxBody: number;
  /** Retention in ms. */
  retentionMs?: number;
  /** Key file for signed requests. */
  keys?: string;
  /** WAL checkpoints from a Worker (`--checkpoint worker`, the default) or inside commits (`inline`). */
  checkpointWorker: boolean;
  /** MQTT broker to ingest from (`mqtt://` or `mqtts://`), with a shared subscription. */
  mqttUrl?: string;
  /** MQTT client certificate, key and CA files (mutual TLS). */
  mqttCert?: string;
  mqttKey?: string;
  mqttCa?: string;
  /** MQTT client id; with one, a persistent session keeps unacknowledged messages across restarts. */
  mqttClientId?: string;
  /** SQLite in a Worker. */
  storeWorker: boolean;
}

/** `--help` text. */
export const USAGE = `usage: cesc [options]

Cloud Edge Server Client: VISSv2 data in over HTTP(S), OVDS SQLite store, forwarding to Geotab DIG.

  -h, --help                 print this help
      --logfile [DIR]        write logs to DIR/cesc.log (default DIR ./logs) instead of stderr
      --log-dir DIR          the same directory as a separate flag
      --loglevel LEVEL       trace|debug|info|warn|error|fatal|panic (default info)
      --host ADDR            address to bind (default 0.0.0.0)
      --port N               plain HTTP port (default 8000)
      --tls-port N           HTTPS port (default 4443), served when --cert and --key are given
      --cert FILE --key FILE TLS server certificate and key (PEM)
      --ca FILE              client CA (PEM): clients must present a certificate it signed
      --db FILE              OVDS SQLite file (default ./ovdsCESC.db)
      --catalog FILE         VSS catalog (vss-tools JSON) that HTTP JSON, HTTP AVRO and MQTT ingest validate
                             datatypes, ranges and allowed values against (default assets/vss/vss_release_4.0.json;
                             paths it does not know are stored untyped)
      --sync full|normal     full (default): answer only after the data is fsynced (durable across power loss;
                             the fsync runs off the event loop, shared by concurrent requests); normal: after
                             the commit (durable across a crash of the process, not of the machine)
      --checkpoint worker|inline
                             copy the WAL into the database from a background thread (default) or inside
                             commits (--checkpoint-worker is accepted for --checkpoint worker)
      --store-worker         run SQLite in a worker thread: requests are parsed while a commit is on disk
  -d, --datamap FILE         VSS->DIG map (default assets/cesc/vss_geotab_map.json)
      --max-datapoints N     flush a vehicle above N new data points (default 25)
      --flush-interval DUR   flush timer, e.g. 30s, 500ms, 2m (default 30s)
      --backend KIND         dig|http|none (default dig when DIG credentials are given, else none with a warning)
      --backend-url URL      DIG base URL (default https://dig.geotab.com:443) or the HTTP backend endpoint
      --credentials FILE     DIG credentials JSON {"username","password","serialNo","serials":{vin:serial}}
                             (or env CESC_DIG_USERNAME, CESC_DIG_PASSWORD, CESC_DIG_SERIAL, CESC_DIG_CREDENTIALS)
      --max-body SIZE        largest request body, e.g. 1MiB, 65536 (default 1MiB)
      --retention DUR        delete forwarded rows older than DUR, e.g. 7d (default: keep)
      --mqtt-url URL         also ingest from an MQTT broker (mqtt:// or mqtts://), shared subscription
                             $share/cesc/vehicles/+/# so several CESCs split the load; QoS 1 acked after commit
      --mqtt-cert FILE --mqtt-key FILE --mqtt-ca FILE   mutual TLS to the broker
      --mqtt-client-id ID    persistent session (unacknowledged messages survive a CESC restart)
      --keys FILE            verify signed requests (X-CCS-* headers, see core/security) with these keys;
                             or set CCS_KEYS=<keyId>=hex:<...>[,...]. Unsigned or bad requests get 401.

Read side: GET /v1/vehicles[/{vin}/signals|/{vin}/series] and the dashboard at /ui (docs/dashboard.md);
env CESC_READ_TOKEN makes /v1/vehicles* require "Authorization: Bearer <token>".
`;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `30s`, `500ms`, `2m`, `7d` or plain seconds into ms. */
export function parseDuration(s: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(s.trim());
  if (!m) throw new PipelineError("config.invalid", `${flag}: "${s}" is not a duration like 30s, 500ms, 2m, 7d`);
  const ms = Number(m[1]) * UNITS[m[2] ?? "s"];
  if (ms <= 0) throw new PipelineError("config.invalid", `${flag}: must be greater than 0`);
  return ms;
}

function parseSize(s: string, flag: string): number {
  const m = /^(\d+)(B|KiB|MiB|KB|MB)?$/i.exec(s.trim());
  if (!m) throw new PipelineError("config.invalid", `${flag}: "${s}" is not a size like 1MiB or 65536`);
  const mult: Record<string, number> = { b: 1, kib: 1024, mib: 1 << 20, kb: 1000, mb: 1e6 };
  const n = Number(m[1]) * mult[(m[2] ?? "b").toLowerCase()];
  if (n < 64) throw new PipelineError("config.invalid", `${flag}: must be at least 64 bytes`);
  return n;
}

function parsePort(s: string, flag: string): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || n > 65535) throw new PipelineError("config.invalid", `${flag}: "${s}" is not a port 0-65535`);
  return n;
}

/**
 * `--logfile` is a switch in the original (log to ./logs) and takes a directory here too:
 * `--logfile`, `--logfile DIR` and `--logfile=DIR` all work.
 */
function expandLogfile(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith("--logfile=")) {
      out.push("--logfile", "--log-dir", a.slice("--logfile=".length));
    } else if (a === "--logfile" && i + 1 < args.length && !args[i + 1].startsWith("-")) {
      out.push("--logfile", "--log-dir", args[++i]);
    } else {
      out.push(a);
    }
  }
  return out;
}

/** Parses and validates the CESC flags; throws `config.invalid` (exit 2) on a bad flag. */
export function parseCescArgs(args: string[]): CescConfig {
  args = expandLogfile(args);
  let v;
  try {
    v = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: "boolean", short: "h" },
        logfile: { type: "boolean" },
        "log-dir": { type: "string" },
        loglevel: { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        "tls-port": { type: "string" },
        cert: { type: "string" },
        key: { type: "string" },
        ca: { type: "string" },
        db: { type: "string" },
        catalog: { type: "string" },
        sync: { type: "string" },
        datamap: { type: "string", short: "d" },
        "max-datapoints": { type: "string" },
        "flush-interval": { type: "string" },
        backend: { type: "string" },
        "backend-url": { type: "string" },
        credentials: { type: "string" },
        "max-body": { type: "string" },
        retention: { type: "string" },
        keys: { type: "string" },
        "checkpoint-worker": { type: "boolean" },
        checkpoint: { type: "string" },
        "store-worker": { type: "boolean" },
        "mqtt-url": { type: "string" },
        "mqtt-cert": { type: "string" },
        "mqtt-key": { type: "string" },
        "mqtt-ca": { type: "string" },
        "mqtt-client-id": { type: "string" },
      },
    }).values;
  } catch (e) {
    throw new PipelineError("config.invalid", (e as Error).message.split("\n")[0]);
  }
  const level = v.loglevel ?? "info";
  if (!isLevel(level)) {
    throw new PipelineError(
      "config.invalid",
      `--loglevel: "${level}" is not one of trace|debug|info|warn|error|fatal|panic`,
    );
  }
  const backend = v.backend ?? "dig";
  if (backend !== "dig" && backend !== "http" && backend !== "none") {
    throw new PipelineError("config.invalid", `--backend: "${backend}" is not one of dig|http|none`);
  }
  if (backend === "http" && !v["backend-url"]) {
    throw new PipelineError("config.invalid", "--backend http needs --backend-url");
  }
  if (v["backend-url"]) {
    try {
      new URL(v["backend-url"]);
    } catch {
      throw new PipelineError("config.invalid", `--backend-url: "${v["backend-url"]}" is not a URL`);
    }
  }
  if (!!v.cert !== !!v.key) throw new PipelineError("config.invalid", "--cert and --key go together");
  if (v.ca && !v.cert) throw new PipelineError("config.invalid", "--ca needs --cert and --key");
  const sync = v.sync ?? "full";
  if (sync !== "full" && sync !== "normal") {
    throw new PipelineError("config.invalid", `--sync: "${sync}" is not full|normal`);
  }
  if (v["mqtt-url"] && !/^mqtts?:\/\/[^/]/.test(v["mqtt-url"])) {
    throw new PipelineError("config.invalid", `--mqtt-url: "${v["mqtt-url"]}" is not an mqtt:// or mqtts:// URL`);
  }
  if (!!v["mqtt-cert"] !== !!v["mqtt-key"]) {
    throw new PipelineError("config.invalid", "--mqtt-cert and --mqtt-key go together");
  }
  if ((v["mqtt-cert"] || v["mqtt-ca"] || v["mqtt-client-id"]) && !v["mqtt-url"]) {
    throw new PipelineError("config.invalid", "--mqtt-cert/--mqtt-key/--mqtt-ca/--mqtt-client-id need --mqtt-url");
  }
  const checkpoint = v.checkpoint ?? "worker";
  if (checkpoint !== "worker" && checkpoint !== "inline") {
    throw new PipelineError("config.invalid", `--checkpoint: "${checkpoint}" is not worker|inline`);
  }
  if (v["checkpoint-worker"] && checkpoint === "inline") {
    throw new PipelineError("config.invalid", "--checkpoint-worker contradicts --checkpoint inline");
  }
  const maxDp = v["max-datapoints"] ?? "25";
  if (!/^\d+$/.test(maxDp) || Number(maxDp) < 1) {
    throw new PipelineError("config.invalid", `--max-datapoints: "${maxDp}" is not a positive integer`);
  }
  return {
    help: v.help ?? false,
    logfile: v.logfile ?? false,
    logDir: v["log-dir"] ?? "./logs",
    loglevel: level,
    host: v.host ?? "0.0.0.0",
    port: parsePort(v.port ?? "8000", "--port"),
    tlsPort: parsePort(v["tls-port"] ?? "4443", "--tls-port"),
    cert: v.cert,
    key: v.key,
    ca: v.ca,
    db: v.db ?? "./ovdsCESC.db",
    catalog: v.catalog,
    sync,
    datamap: v.datamap,
    maxDatapoints: Number(maxDp),
    flushIntervalMs: parseDuration(v["flush-interval"] ?? "30s", "--flush-interval"),
    backend,
    backendExplicit: v.backend !== undefined,
    backendUrl: v["backend-url"],
    credentials: v.credentials,
    maxBody: parseSize(v["max-body"] ?? "1MiB", "--max-body"),
    retentionMs: v.retention ? parseDuration(v.retention, "--retention") : undefined,
    keys: v.keys,
    checkpointWorker: checkpoint === "worker",
    storeWorker: v["store-worker"] ?? false,
    mqttUrl: v["mqtt-url"],
    mqttCert: v["mqtt-cert"],
    mqttKey: v["mqtt-key"],
    mqttCa: v["mqtt-ca"],
    mqttClientId: v["mqtt-client-id"],
  };
}

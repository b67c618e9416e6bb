/**
 * `deno task cesc`: the CESC command line. Flags and wiring only; see `mod.ts`.
 * @module
 */
import { PipelineError } from "../core/errors/mod.ts";
import { createLogger } from "../core/log/mod.ts";
import { createVerifier, KeyStore } from "../core/security/mod.ts";
import { loadDataMap, loadDigCredentials, startCesc } from "./mod.ts";
import { parseCescArgs, USAGE } from "./config.ts";

async function main(): Promise<number> {
  let cfg;
  try {
    cfg = parseCescArgs(Deno.args);
  } catch (e) {
    console.error(`cesc: ${(e as Error).message}`);
    return 2;
  }
  if (cfg.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    const log = createLogger("cesc", { level: cfg.loglevel, ...(cfg.logfile ? { dir: cfg.logDir } : {}) });
    const read = async (f: string, what: string) => {
      try {
        return await Deno.readTextFile(f);
      } catch (e) {
        throw new PipelineError("config.read", `cannot read ${what} ${f}: ${(e as Error).message}`);
      }
    };
    const tls = cfg.cert && cfg.key
      ? {
        cert: await read(cfg.cert, "--cert"),
        key: await read(cfg.key, "--key"),
        ca: cfg.ca ? await read(cfg.ca, "--ca") : undefined,
      }
      : undefined;
    const keys = cfg.keys
      ? await KeyStore.fromFile(cfg.keys)
      : Deno.env.get("CCS_KEYS")
      ? KeyStore.fromEnv()
      : undefined;
    const verifier = keys ? createVerifier({ keys }) : undefined;
    // Without --backend, forward to DIG as the original did when credentials are there; otherwise store only.
    if (!cfg.backendExplicit && cfg.backend === "dig" && !cfg.credentials && !hasDigCredentialsInEnv()) {
      cfg.backend = "none";
      log.warn("forwarding is off: no DIG credentials (--credentials FILE or CESC_DIG_*); use --backend to choose", {});
    }
    const cesc = await startCesc({
      verify: verifier ? (req) => verifier.verifyHttp(req) : undefined,
      db: cfg.db,
      catalog: cfg.catalog,
      synchronous: cfg.sync,
      checkpointInWorker: cfg.checkpointWorker,
      storeInWorker: cfg.storeWorker,
      hostname: cfg.host,
      port: cfg.port,
      tlsPort: cfg.tlsPort,
      tls,
      backend: cfg.backend,
      backendUrl: cfg.backendUrl,
      credentials: cfg.backend === "dig" ? await loadDigCredentials(cfg.credentials) : undefined,
      dataMap: cfg.backend === "dig" ? await loadDataMap(cfg.datamap) : undefined,
      maxDatapoints: cfg.maxDatapoints,
      flushIntervalMs: cfg.flushIntervalMs,
      maxBody: cfg.maxBody,
      retentionMs: cfg.retentionMs,
      readToken: Deno.env.get("CESC_READ_TOKEN") || undefined,
      log,
      mqtt: cfg.mqttUrl
        ? {
          url: cfg.mqttUrl,
          clientId: cfg.mqttClientId,
          tls: { certPath: cfg.mqttCert, keyPath: cfg.mqttKey, caPath: cfg.mqttCa },
          // With keys configured, MQTT payloads must be signed envelopes too.
          unwrap: verifier
            ? (topic: string, body: Uint8Array) => {
              const r = verifier.verifyMessage({ topic, payload: body });
              if (!r.ok) throw new PipelineError(`auth.${r.reason}`, r.message);
              return r.body;
            }
            : undefined,
        }
        : undefined,
    });
    // Signal handlers first, so a stop request right after start-up is a clean shutdown too.
    const stop = new Promise<void>((resolve) => {
      for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, () => resolve());
    });
    console.log(`cesc: listening on ${cesc.url}${cesc.tlsUrl ? ` and ${cesc.tlsUrl}` : ""}`);
    await stop;
    log.info("shutting down");
    await cesc.close();
    return 0;
  } catch (e) {
    console.error(`cesc: ${(e as Error).message.split("\n")[0]}`);
    return 1;
  }
}

function hasDigCredentialsInEnv(): boolean {
  return Boolean(Deno.env.get("CESC_DIG_CREDENTIALS") || Deno.env.get("CESC_DIG_USERNAME"));
}

if (import.meta.main) Deno.exit(await main());

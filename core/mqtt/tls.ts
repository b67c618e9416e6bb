/**
 * TLS material of an MQTT client (the VEC's publisher and the CESC's ingest), given as file paths or PEM text.
 * @module
 */
import { PipelineError } from "../errors/mod.ts";

/** Client TLS material: file paths or PEM contents. */
export interface MqttTlsOptions {
  /** Client certificate (PEM) path. */
  certPath?: string;
  /** Client private key (PEM) path. */
  keyPath?: string;
  /** CA certificate(s) (PEM) path, e.g. AmazonRootCA1.pem. */
  caPath?: string;
  /** Client certificate PEM (instead of `certPath`). */
  cert?: string;
  /** Client key PEM (instead of `keyPath`). */
  key?: string;
  /** CA PEM (instead of `caPath`). */
  ca?: string;
  /** Verify the broker certificate (default true). */
  rejectUnauthorized?: boolean;
  /** Server name for SNI/verification (default: the URL host). */
  servername?: string;
}

/** PEM text of the client certificate, key and CA, read from their files where paths were given. */
export interface MqttTlsMaterial {
  /** Client certificate PEM. */
  cert?: string;
  /** Client key PEM. */
  key?: string;
  /** CA PEM. */
  ca?: string;
}

function readPem(path: string | undefined, what: string): string | undefined {
  if (!path) return undefined;
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    throw new PipelineError("mqtt.tls", `cannot read the ${what} at ${path}: ${(e as Error).message}`, {
      path,
      cause: e,
    });
  }
}

/**
 * Reads the PEM files of `tls` (PEM text given directly wins over a path).
 * @throws PipelineError `mqtt.tls` when a file cannot be read, or only one of certificate and key is given
 */
export function loadMqttTls(tls: MqttTlsOptions = {}): MqttTlsMaterial {
  const cert = tls.cert ?? readPem(tls.certPath, "client certificate (cert_path)");
  const key = tls.key ?? readPem(tls.keyPath, "client private key (key_path)");
  const ca = tls.ca ?? readPem(tls.caPath, "CA certificate (ca_path)");
  if ((cert === undefined) !== (key === undefined)) {
    throw new PipelineError("mqtt.tls", "mutual TLS needs both cert_path and key_path", { path: "cert_path" });
  }
  return { cert, key, ca };
}

/**
 * The TLS client of a config section with `tls: {cert_path, key_path, ca_path}` (the CESC uplink's `cesc.tls`, the
 * VISSv2 source's `viss.tls`): a `Deno.HttpClient` with the server CA and, for mutual TLS, the client certificate.
 * @module
 */
import { PipelineError } from "../core/errors/mod.ts";

/** The `tls` member of a config section. */
export interface TlsFiles {
  /** Client certificate (PEM), with `key_path`. */
  cert_path?: string;
  /** Client private key (PEM), with `cert_path`. */
  key_path?: string;
  /** Server CA certificate(s) (PEM). */
  ca_path?: string;
}

async function readPem(path: string, key: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new PipelineError(`vec.${key}_unreadable`, `${key} ${path}: ${(e as Error).message}`, { path, cause: e });
  }
}

/**
 * An HTTP client with a server CA and a client certificate (mutual TLS), or undefined when `tls` names no file.
 * @param tls the section's `tls` member
 * @param section the section's key in errors (`cesc.tls`)
 * @throws PipelineError `config.invalid` when only one of cert_path/key_path is set; `vec.<key>_unreadable`
 */
export async function tlsHttpClient(tls: TlsFiles, section: string): Promise<Deno.HttpClient | undefined> {
  const { cert_path, key_path, ca_path } = tls;
  if (!cert_path && !key_path && !ca_path) return undefined;
  if (!cert_path !== !key_path) {
    throw new PipelineError("config.invalid", `${section}: cert_path and key_path go together (client certificate)`, {
      path: section,
    });
  }
  const caCerts = ca_path ? [await readPem(ca_path, `${section}.ca_path`)] : undefined;
  if (cert_path && key_path) {
    return Deno.createHttpClient({
      caCerts,
      cert: await readPem(cert_path, `${section}.cert_path`),
      key: await readPem(key_path, `${section}.key_path`),
    });
  }
  return Deno.createHttpClient({ caCerts });
}

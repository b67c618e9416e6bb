/**
 * A real mosquitto broker for tests: free loopback port, plain or mTLS, stop/kill/restart on the same port,
 * and throw-away ECC P-256 (or RSA) certificates made with openssl in a temp dir.
 * @module
 */

/** Paths of a generated PKI (all PEM). */
export interface TestPki {
  /** Directory holding every file (removed by {@link TestPki.remove} / broker `close`). */
  dir: string;
  /** CA certificate the broker trusts. */
  caCert: string;
  /** Broker certificate (SAN 127.0.0.1, localhost). */
  serverCert: string;
  /** Broker private key. */
  serverKey: string;
  /** Default client certificate signed by the CA (CN `test-client`, ECC P-256). */
  clientCert: string;
  /** Default client key. */
  clientKey: string;
  /**
   * Issue another client certificate.
   * @param cn common name
   * @param options `keyType` (`ec` P-256 default, or `rsa` 2048) and `rogue: true` to sign with an untrusted CA
   */
  issueClient(
    cn: string,
    options?: { keyType?: "ec" | "rsa"; rogue?: boolean },
  ): Promise<{ cert: string; key: string }>;
  /** Remove the directory. */
  remove(): Promise<void>;
}

async function run(cmd: string, args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

async function genKey(dir: string, name: string, keyType: "ec" | "rsa"): Promise<string> {
  const key = `${dir}/${name}.key`;
  if (keyType === "ec") {
    await run("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key], dir);
  } else {
    await run("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key], dir);
  }
  return key;
}

async function makeCa(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const key = await genKey(dir, name, "ec");
  const cert = `${dir}/${name}.pem`;
  await run("openssl", [
    "req",
    "-x509",
    "-new",
    "-key",
    key,
    "-sha256",
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-out",
    cert,
  ], dir);
  return { cert, key };
}

async function sign(
  dir: string,
  name: string,
  cn: string,
  ca: { cert: string; key: string },
  options: { keyType: "ec" | "rsa"; server: boolean },
): Promise<{ cert: string; key: string }> {
  const key = await genKey(dir, name, options.keyType);
  const csr = `${dir}/${name}.csr`;
  const ext = `${dir}/${name}.ext`;
  const cert = `${dir}/${name}.pem`;
  await run("openssl", ["req", "-new", "-key", key, "-subj", `/CN=${cn}`, "-out", csr], dir);
  await Deno.writeTextFile(
    ext,
    options.server
      ? "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
      : "extendedKeyUsage=clientAuth\n",
  );
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-CAcreateserial",
    "-days",
    "2",
    "-sha256",
    "-extfile",
    ext,
    "-out",
    cert,
  ], dir);
  return { cert, key };
}

/** Generate a CA, a broker certificate and a client certificate (ECC P-256) in a new temp dir. */
export async function makeTestPki(): Promise<TestPki> {
  const dir = await Deno.makeTempDir({ prefix: "mqtt_pki_" });
  try {
    const ca = await makeCa(dir, "ca");
    const server = await sign(dir, "server", "localhost", ca, { keyType: "ec", server: true });
    const client = await sign(dir, "client", "test-client", ca, { keyType: "ec", server: false });
    let rogue: { cert: string; key: string } | undefined;
    let n = 0;
    return {
      dir,
      caCert: ca.cert,
      serverCert: server.cert,
      serverKey: server.key,
      clientCert: client.cert,
      clientKey: client.key,
      async issueClient(cn, options = {}) {
        let signer = ca;
        if (options.rogue) signer = rogue ??= await makeCa(dir, "rogue-ca");
        return await sign(dir, `client-${++n}`, cn, signer, { keyType: options.keyType ?? "ec", server: false });
      },
      async remove() {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      },
    };
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
}

/** Options of {@link startMosquitto}. */
export interface MosquittoOptions {
  /** Serve mTLS (`require_certificate true`) with this PKI; plain TCP when absent. */
  pki?: TestPki;
  /** Keep sessions and queued messages across a graceful restart (default true). */
  persistence?: boolean;
  /** Extra mosquitto.conf lines appended to the listener. */
  extraConfig?: string[];
}

/** A running test broker. */
export interface TestBroker {
  /** Loopback port (stays the same across restarts). */
  readonly port: number;
  /** `mqtt://127.0.0.1:port` or `mqtts://127.0.0.1:port`. */
  readonly url: string;
  /** Working directory (config, log, persistence). */
  readonly dir: string;
  /** True while the process runs. */
  readonly running: boolean;
  /** Stop the process: `SIGTERM` (graceful, saves persistence) by default, or `SIGKILL`. */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Start the process again on the same port. */
  restart(): Promise<void>;
  /** The broker log so far (for failure messages). */
  log(): string;
  /** Stop the broker and remove its directory (not the PKI). */
  close(): Promise<void>;
}

/** A free loopback TCP port (never 1883). */
export function freePort(): number {
  for (;;) {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    if (port !== 1883 && port !== 8883) return port;
  }
}

async function waitListening(port: number, child: Deno.ChildProcess, logPath: string): Promise<void> {
  let exited = false;
  child.status.then(() => exited = true);
  for (let i = 0; i < 500; i++) {
    if (exited) {
      let log = "";
      try {
        log = Deno.readTextFileSync(logPath);
      } catch { /* no log */ }
      throw new Error(`mosquitto exited during start-up: ${log.trim().split("\n").slice(-5).join(" | ")}`);
    }
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error(`mosquitto did not listen on 127.0.0.1:${port} within 10 s`);
}

/**
 * Start mosquitto on a free loopback port with its own config in a temp dir.
 *
 * @param options TLS PKI, persistence and extra config
 */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<TestBroker> {
  const dir = await Deno.makeTempDir({ prefix: "mosquitto_" });
  const port = freePort();
  const logPath = `${dir}/mosquitto.log`;
  const conf = [
    "user root",
    `persistence ${options.persistence === false ? "false" : "true"}`,
    `persistence_location ${dir}/`,
    `log_dest file ${logPath}`,
    "log_type error",
    "log_type warning",
    "log_type notice",
    "log_type information",
    "max_queued_messages 100000",
    "max_inflight_messages 0",
    `listener ${port} 127.0.0.1`,
  ];
  if (options.pki) {
    conf.push(
      `cafile ${options.pki.caCert}`,
      `certfile ${options.pki.serverCert}`,
      `keyfile ${options.pki.serverKey}`,
      "require_certificate true",
      "use_identity_as_username true",
      "tls_version tlsv1.2",
    );
  } else {
    conf.push("allow_anonymous true");
  }
  conf.push(...(options.extraConfig ?? []));
  await Deno.writeTextFile(`${dir}/mosquitto.conf`, conf.join("\n") + "\n");

  let child: Deno.ChildProcess | undefined;
  let running = false;
  const spawn = async () => {
    child = new Deno.Command("mosquitto", {
      args: ["-c", `${dir}/mosquitto.conf`],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    running = true;
    const c = child;
    c.status.then(() => {
      if (child === c) running = false;
    });
    try {
      await waitListening(port, c, logPath);
    } catch (e) {
      if (running) {
        c.kill("SIGKILL");
        await c.status;
      }
      throw e;
    }
  };
  const stop = async (signal: "SIGTERM" | "SIGKILL" = "SIGTERM") => {
    if (!child) return;
    const c = child;
    if (running) {
      try {
        c.kill(signal);
      } catch { /* already gone */ }
    }
    await c.status;
    running = false;
  };
  try {
    await spawn();
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
  return {
    port,
    url: `${options.pki ? "mqtts" : "mqtt"}://127.0.0.1:${port}`,
    dir,
    get running() {
      return running;
    },
    stop,
    async restart() {
      await stop();
      await spawn();
    },
    log() {
      try {
        return Deno.readTextFileSync(logPath);
      } catch {
        return "";
      }
    },
    async close() {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

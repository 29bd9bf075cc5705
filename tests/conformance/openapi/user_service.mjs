// Starts the stoa binary ($STOA_BINARY) serving only the user component, on free loopback
// ports, with SQLite and the object store in a temporary directory, trusting an ES256 key
// made here (its JWKS in a file), and mints that key's tokens the way an issuer would.
import { spawn } from "node:child_process";
import { generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ISSUER = "http://127.0.0.1:8100";
export const AUDIENCE = "stoa";
export const CREDENTIAL_SCOPE = "stoa.user.credentials";

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const base64url = (data) => Buffer.from(data).toString("base64url");

export class SigningKey {
  constructor(kid = `conformance-${randomUUID()}`) {
    this.kid = kid;
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.privateKey = privateKey;
    this.jwk = { ...publicKey.export({ format: "jwk" }), kid, alg: "ES256", use: "sig" };
  }

  // A compact JWS (ES256: the signature is R || S, not DER).
  sign(payload, header = {}) {
    const head = base64url(JSON.stringify({ alg: "ES256", typ: "JWT", kid: this.kid, ...header }));
    const body = base64url(JSON.stringify(payload));
    const signature = sign("sha256", Buffer.from(`${head}.${body}`), {
      key: this.privateKey,
      dsaEncoding: "ieee-p1363",
    });
    return `${head}.${body}.${base64url(signature)}`;
  }

  // A token for `subject` valid for ten minutes; `claims` adds or overrides claims.
  token(subject, { roles = [], scope, ...claims } = {}) {
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: ISSUER, aud: AUDIENCE, sub: subject, iat: now, exp: now + 600, roles };
    if (scope) payload.scope = scope;
    return this.sign({ ...payload, ...claims });
  }
}

export async function startUserService(key, extraEnv = {}) {
  const binary = process.env.STOA_BINARY;
  if (!binary) throw new Error("STOA_BINARY must name the stoa binary (./dev test sets it)");
  const dir = mkdtempSync(join(tmpdir(), "stoa-openapi-conformance-"));
  writeFileSync(join(dir, "jwks.json"), JSON.stringify({ keys: [key.jwk] }));
  const [userPort, adminPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];
  const env = {
    ...process.env,
    STOA_USER_LISTEN: `127.0.0.1:${userPort}`,
    STOA_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
    STOA_GATEWAY_LISTEN: `127.0.0.1:${gatewayPort}`,
    STOA_DATABASE_URL: `sqlite://${join(dir, "stoa.db")}`,
    STOA_JWT_JWKS: join(dir, "jwks.json"),
    // Cheap hashes: the suite registers many users; the parameters have their own tests.
    STOA_USER_PASSWORD_MEMORY_BYTES: "64KiB",
    STOA_USER_PASSWORD_ITERATIONS: "1",
    STOA_PROCESS_THREADS: "2",
    STOA_LOG_ACCESS: "false",
    ...extraEnv,
  };
  let log = "";
  const child = spawn(binary, ["serve", "user"], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${userPort}`;
  const deadline = Date.now() + 60000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`stoa exited at start-up:\n${log}`);
    try {
      // Any answer means the user listener is up (the admin listener starts first).
      await fetch(`${url}/v1/users/me`);
      break;
    } catch {}
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`stoa's user listener did not come up:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port: userPort,
    log: () => log,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// One request written by hand on its own connection, for what fetch will not send (a
// Content-Length with no body behind it); resolves to { status, headers, text } once the
// server closes the connection.
export function rawRequest(port, head, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    const chunks = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("no answer in time"));
    }, timeoutMs);
    socket.on("connect", () => socket.write(head));
    socket.on("data", (d) => chunks.push(d));
    socket.on("error", reject);
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("utf8");
      const split = text.indexOf("\r\n\r\n");
      if (split < 0) return reject(new Error(`not an HTTP response: ${JSON.stringify(text)}`));
      const [statusLine, ...lines] = text.slice(0, split).split("\r\n");
      const headers = new Map();
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      resolve({
        status: Number(statusLine.split(" ")[1]),
        headers: { get: (name) => headers.get(name.toLowerCase()) ?? null },
        text: text.slice(split + 4),
      });
    });
  });
}

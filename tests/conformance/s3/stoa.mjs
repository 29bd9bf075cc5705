// Starts the stoa binary ($STOA_BINARY) with only the objects component, on free loopback
// ports, in a temporary directory (its object store), and stops it when the tests end.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

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

export const credentials = { accessKeyId: "stoa", secretAccessKey: "stoa-secret-key" };
export const region = "us-east-1";

export async function startStoa(extraEnv = {}) {
  const binary = process.env.STOA_BINARY;
  if (!binary) throw new Error("STOA_BINARY must name the stoa binary (./dev test sets it)");
  const dir = mkdtempSync(join(tmpdir(), "stoa-s3-conformance-"));
  const [s3Port, adminPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];
  const env = {
    ...process.env,
    STOA_S3_LISTEN: `127.0.0.1:${s3Port}`,
    STOA_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
    STOA_GATEWAY_LISTEN: `127.0.0.1:${gatewayPort}`,
    STOA_PROCESS_THREADS: "2",
    STOA_LOG_ACCESS: "false",
    ...extraEnv,
  };
  let log = "";
  const child = spawn(binary, ["serve", "objects"], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const deadline = Date.now() + 20000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`stoa exited at start-up:\n${log}`);
    try {
      const r = await fetch(`http://127.0.0.1:${adminPort}/healthz`);
      if (r.status === 200) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`stoa did not become healthy:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    endpoint: `http://127.0.0.1:${s3Port}`,
    dir,
    log: () => log,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// bench/users' identities: an ES256 key whose JWKS `stoa serve user` trusts, and users
// registered through the API with a token each, for wrk (bench/users/wrk.lua) to replay.
//
//   node tokens.mjs key DIR                 writes DIR/jwks.json and DIR/key.pem
//   node tokens.mjs users DIR URL COUNT     registers COUNT users at URL, writes DIR/users.txt:
//                                           one "<user id> <bearer token> <ETag>" a line
//   node tokens.mjs etags DIR URL           reads each user's profile, so that DIR/users.txt
//                                           holds their current ETags (before PATCH rounds)
// Tokens carry the issuer and audience of the embedded defaults ([jwt]) and last two hours.
import { createPrivateKey, generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [command, dir, url, countText] = process.argv.slice(2);
const kid = "bench-users";
const base64url = (data) => Buffer.from(data).toString("base64url");

function token(privateKey, subject) {
  const now = Math.floor(Date.now() / 1000);
  const head = base64url(JSON.stringify({ alg: "ES256", typ: "JWT", kid }));
  const body = base64url(JSON.stringify({ iss: "http://127.0.0.1:8100", aud: "stoa", sub: subject,
                                          iat: now, exp: now + 7200 }));
  const signature = sign("sha256", Buffer.from(`${head}.${body}`), { key: privateKey, dsaEncoding: "ieee-p1363" });
  return `${head}.${body}.${base64url(signature)}`;
}

if (command === "key") {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = { ...publicKey.export({ format: "jwk" }), kid, alg: "ES256", use: "sig" };
  writeFileSync(join(dir, "jwks.json"), JSON.stringify({ keys: [jwk] }));
  writeFileSync(join(dir, "key.pem"), privateKey.export({ format: "pem", type: "pkcs8" }));
} else if (command === "users") {
  const privateKey = createPrivateKey(readFileSync(join(dir, "key.pem")));
  const count = Number(countText);
  const run = randomUUID().slice(0, 8);
  const lines = [];
  // A few at a time: each registration is an argon2id hash on the service's worker pool.
  for (let i = 0; i < count; i += 8) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 8); j++) {
      batch.push(fetch(`${url}/v1/users`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email: `seed-${run}-${j}@example.com`, password: "bench password",
                               display_name: `Seed ${j}` }),
      }).then(async (r) => {
        const text = await r.text();
        if (r.status !== 201) throw new Error(`registering a user: ${r.status} ${text}`);
        return JSON.parse(text).id;
      }));
    }
    for (const id of await Promise.all(batch)) lines.push(`${id} ${token(privateKey, id)} "1"`);
  }
  writeFileSync(join(dir, "users.txt"), lines.join("\n") + "\n");
} else if (command === "etags") {
  const users = readFileSync(join(dir, "users.txt"), "utf8").trim().split("\n").map((l) => l.split(" "));
  const lines = await Promise.all(users.map(async ([id, bearer]) => {
    const r = await fetch(`${url}/v1/users/me`, { headers: { Authorization: `Bearer ${bearer}` } });
    await r.arrayBuffer();
    if (r.status !== 200 || !r.headers.get("etag")) throw new Error(`reading ${id}: ${r.status}`);
    return `${id} ${bearer} ${r.headers.get("etag")}`;
  }));
  writeFileSync(join(dir, "users.txt"), lines.join("\n") + "\n");
} else {
  console.error("usage: node tokens.mjs key DIR | users DIR URL COUNT | etags DIR URL");
  process.exit(2);
}

// The running user service (`stoa serve user` on SQLite) against docs/api/user.openapi.json:
// every route is driven, error cases included, and every response must be documented —
// its status for that operation, its body valid against the documented schema, its
// documented headers present. Request bodies are checked against the document as well: one
// the service accepts must validate, and the out-of-bounds ones sent here must not.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { OpenApiDocument } from "./openapi.mjs";
import { CREDENTIAL_SCOPE, SigningKey, rawRequest, startUserService } from "./user_service.mjs";

const api = new OpenApiDocument(fileURLToPath(new URL("../../../docs/api/user.openapi.json", import.meta.url)));
const key = new SigningKey();
const ADMIN = key.token(randomUUID(), { roles: ["admin"] });
const SERVICE = key.token("auth-service", { scope: CREDENTIAL_SCOPE });
let service;

before(async () => {
  // A long first lock, so that a slow machine cannot let it expire between two requests.
  service = await startUserService(key, { STOA_USER_LOCKOUT_BASE_DELAY: "60s" });
});
after(async () => {
  await service?.stop();
});

// One request, checked against the document. `body`: a value sent as JSON, or a string or
// Buffer sent as it is. `token`: sent as a bearer token. `schema`: "valid" or "invalid", what
// the documented request schema must say of `body`.
async function call(method, path, { body, token, headers = {}, schema } = {}) {
  const op = api.match(method, path);
  assert.ok(op, `${method} ${path} is not in the document`);
  const init = { method, headers: { ...headers } };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  }
  const response = await fetch(`${service.url}${path}`, init);
  const text = await response.text();
  const result = { status: response.status, headers: response.headers, text };
  const failures = api.check(op, result);
  assert.deepEqual(failures, [], `${method} ${path} → ${response.status}`);
  result.json = text ? JSON.parse(text) : undefined;

  if (body !== undefined && typeof body === "object" && !Buffer.isBuffer(body)) {
    const verdict = api.acceptsRequestBody(op, body);
    if (verdict && response.status < 300) {
      assert.ok(verdict.ok, `${method} ${path}: the service accepted a body the document refuses: ` +
                            api.ajv.errorsText(verdict.errors));
    }
    if (verdict && schema) {
      assert.equal(verdict.ok, schema === "valid", `${method} ${path}: the document's verdict on ` +
                   `${JSON.stringify(body).slice(0, 200)}`);
    }
  }
  return result;
}

async function expectStatus(status, method, path, options) {
  const r = await call(method, path, options);
  assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
  return r;
}

let counter = 0;
const uniqueEmail = (local = "user") => `${local}.${process.pid}.${++counter}.${randomUUID().slice(0, 8)}@example.com`;

async function register(name = "Ada", password = "correct horse") {
  const email = uniqueEmail(name.toLowerCase().replace(/[^a-z]/g, "") || "user");
  const r = await expectStatus(201, "POST", "/v1/users", {
    body: { email, password, display_name: name },
    schema: "valid",
  });
  return { ...r.json, email, password, token: key.token(r.json.id) };
}

describe("registration", () => {
  test("201 with the profile, its ETag and Location; 409 for a taken address", async () => {
    const user = await register();
    const again = await expectStatus(201, "POST", "/v1/users", {
      body: { email: uniqueEmail(), password: "p".repeat(1024), display_name: "é".repeat(100), },
      schema: "valid",
    });
    assert.equal(again.headers.get("etag"), '"1"');
    assert.equal(again.headers.get("location"), `/v1/users/${again.json.id}`);
    await expectStatus(409, "POST", "/v1/users", {
      body: { email: user.email.toUpperCase(), password: "correct horse", display_name: "Other" },
      schema: "valid",
    });
  });

  test("400 for what the document's bounds refuse", async () => {
    const good = { email: uniqueEmail(), password: "correct horse", display_name: "Ada" };
    for (const bad of [
      { ...good, display_name: "" },
      { ...good, display_name: "x".repeat(101) },
      { ...good, display_name: "x".repeat(1024 * 1024) },
      { ...good, display_name: "tab\there" },
      { ...good, display_name: "line\u2028separator" },
      { ...good, password: "short" },
      { ...good, password: "p".repeat(1025) },
      { ...good, email: "x".repeat(250) + "@example.com" },
      { ...good, email: 42 },
      { ...good, admin: true },
      { email: good.email, password: good.password },
      [],
    ]) {
      await expectStatus(400, "POST", "/v1/users", { body: bad, schema: "invalid" });
    }
  });

  test("400 for what only the service can judge, and for bodies that are not JSON objects", async () => {
    for (const email of ["not-an-address", "a@b", "two@@example.com", "a b@example.com"]) {
      await expectStatus(400, "POST", "/v1/users", {
        body: { email, password: "correct horse", display_name: "X" },
        schema: "valid",
      });
    }
    await expectStatus(400, "POST", "/v1/users", { body: "{" });
    await expectStatus(400, "POST", "/v1/users", { body: "[".repeat(10000) + "]".repeat(10000) });
    await expectStatus(400, "POST", "/v1/users", {
      body: Buffer.concat([
        Buffer.from(`{"email":"${uniqueEmail()}","password":"correct horse","display_name":"`),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('"}'),
      ]),
    });
    // An empty POST body: fetch sends Content-Length: 0.
    await expectStatus(400, "POST", "/v1/users", { body: "" });
  });

  test("413 for a body over 2 MiB, refused before it is read", async () => {
    const op = api.match("POST", "/v1/users");
    const r = await rawRequest(service.port,
      "POST /v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
      `Content-Length: ${3 * 1024 * 1024}\r\n\r\n`);
    assert.equal(r.status, 413, r.text);
    assert.deepEqual(api.check(op, r), []);
  });
});

describe("own profile", () => {
  test("GET: 200 with ETag, 304 for a current If-None-Match", async () => {
    const user = await register();
    const me = await expectStatus(200, "GET", "/v1/users/me", { token: user.token });
    assert.equal(me.json.id, user.id);
    assert.equal(me.headers.get("cache-control"), "private, no-cache");
    await expectStatus(304, "GET", "/v1/users/me", { token: user.token, headers: { "If-None-Match": '"1"' } });
    await expectStatus(200, "GET", "/v1/users/me", { token: user.token, headers: { "If-None-Match": '"2"' } });
  });

  test("GET: 401 without a valid token, 403 for a subject that is not a user, 404 for no account", async () => {
    await expectStatus(401, "GET", "/v1/users/me");
    await expectStatus(401, "GET", "/v1/users/me", { token: "not.a.token" });
    const now = Math.floor(Date.now() / 1000);
    await expectStatus(401, "GET", "/v1/users/me", { token: key.token(randomUUID(), { exp: now - 3600 }) });
    await expectStatus(401, "GET", "/v1/users/me", { token: key.token(randomUUID(), { aud: "elsewhere" }) });
    await expectStatus(401, "GET", "/v1/users/me", { token: new SigningKey().token(randomUUID()) });
    await expectStatus(403, "GET", "/v1/users/me", { token: key.token("auth-service") });
    await expectStatus(404, "GET", "/v1/users/me", { token: key.token(randomUUID()) });
  });

  test("PATCH: 428 without If-Match, 412 for a stale or foreign one, 200 and a new ETag", async () => {
    const user = await register();
    const rename = { display_name: "Ada Lovelace" };
    await expectStatus(428, "PATCH", "/v1/users/me", { token: user.token, body: rename, schema: "valid" });
    await expectStatus(412, "PATCH", "/v1/users/me", { token: user.token, body: rename, headers: { "If-Match": "*" } });
    await expectStatus(412, "PATCH", "/v1/users/me", { token: user.token, body: rename, headers: { "If-Match": '"7"' } });
    const patched = await expectStatus(200, "PATCH", "/v1/users/me", {
      token: user.token, body: rename, headers: { "If-Match": '"1"' }, schema: "valid",
    });
    assert.equal(patched.headers.get("etag"), '"2"');
    assert.equal(patched.json.display_name, "Ada Lovelace");
    await expectStatus(412, "PATCH", "/v1/users/me", { token: user.token, body: rename, headers: { "If-Match": '"1"' } });
    for (const bad of [{}, { display_name: "" }, { display_name: null }, { display_name: "x", email: "x@example.com" }]) {
      await expectStatus(400, "PATCH", "/v1/users/me", {
        token: user.token, body: bad, headers: { "If-Match": '"2"' }, schema: "invalid",
      });
    }
    await expectStatus(401, "PATCH", "/v1/users/me", { body: rename, headers: { "If-Match": '"2"' } });
    await expectStatus(404, "PATCH", "/v1/users/me", {
      token: key.token(randomUUID()), body: rename, headers: { "If-Match": '"1"' },
    });
  });

  test("a disabled account gets 403 on its own routes, and 200 again once enabled", async () => {
    const user = await register();
    await expectStatus(200, "POST", `/v1/users/${user.id}/disable`, { token: ADMIN });
    await expectStatus(403, "GET", "/v1/users/me", { token: user.token });
    await expectStatus(403, "PATCH", "/v1/users/me", {
      token: user.token, body: { display_name: "Still me" }, headers: { "If-Match": '"2"' },
    });
    await expectStatus(403, "POST", "/v1/users/me/password", {
      token: user.token, body: { current_password: user.password, new_password: "new password" },
    });
    await expectStatus(403, "GET", "/v1/users/me/addresses", { token: user.token });
    await expectStatus(403, "POST", "/v1/users/me/exports", { token: user.token });
    await expectStatus(200, "POST", `/v1/users/${user.id}/enable`, { token: ADMIN });
    await expectStatus(200, "GET", "/v1/users/me", { token: user.token });
  });

  test("password: 204, 403 for a wrong current one, 400 out of bounds, 429 after repeated failures", async () => {
    const user = await register("Pat", "old password");
    await expectStatus(204, "POST", "/v1/users/me/password", {
      token: user.token, body: { current_password: "old password", new_password: "new password" }, schema: "valid",
    });
    await expectStatus(400, "POST", "/v1/users/me/password", {
      token: user.token, body: { current_password: "new password", new_password: "short" }, schema: "invalid",
    });
    await expectStatus(400, "POST", "/v1/users/me/password", {
      token: user.token, body: { current_password: "new password" }, schema: "invalid",
    });
    await expectStatus(401, "POST", "/v1/users/me/password", {
      body: { current_password: "new password", new_password: "newer password" },
    });
    await expectStatus(404, "POST", "/v1/users/me/password", {
      token: key.token(randomUUID()), body: { current_password: "x", new_password: "newer password" },
    });
    // The fifth failure locks the account: the next attempt is refused before any check.
    for (let i = 0; i < 5; i++) {
      await expectStatus(403, "POST", "/v1/users/me/password", {
        token: user.token, body: { current_password: "old password", new_password: "newer password" },
      });
    }
    const locked = await expectStatus(429, "POST", "/v1/users/me/password", {
      token: user.token, body: { current_password: "new password", new_password: "newer password" },
    });
    assert.ok(Number(locked.headers.get("retry-after")) >= 1);
  });
});

describe("addresses", () => {
  const home = { label: "home", line1: "1 Main St", line2: null, city: "Springfield", country: "US" };

  test("list, add, replace, delete; 404 for another user's address or a non-UUID id", async () => {
    const user = await register();
    const other = await register("Eve");
    const empty = await expectStatus(200, "GET", "/v1/users/me/addresses", { token: user.token });
    assert.deepEqual(empty.json, { addresses: [] });
    const added = await expectStatus(201, "POST", "/v1/users/me/addresses", {
      token: user.token, body: home, schema: "valid",
    });
    assert.equal(added.headers.get("location"), `/v1/users/me/addresses/${added.json.id}`);
    assert.equal(added.json.line2, "");
    const path = `/v1/users/me/addresses/${added.json.id}`;
    const moved = { line1: "2 Side St", city: "Shelbyville", region: "IL", postal_code: "62565", country: "US" };
    const replaced = await expectStatus(200, "PUT", path, { token: user.token, body: moved, schema: "valid" });
    assert.equal(replaced.json.label, "");
    await expectStatus(404, "PUT", path, { token: other.token, body: moved });
    await expectStatus(404, "DELETE", path, { token: other.token });
    await expectStatus(404, "PUT", "/v1/users/me/addresses/not-a-uuid", { token: user.token, body: moved });
    await expectStatus(404, "DELETE", "/v1/users/me/addresses/not-a-uuid", { token: user.token });
    const list = await expectStatus(200, "GET", "/v1/users/me/addresses", { token: user.token });
    assert.equal(list.json.addresses.length, 1);
    await expectStatus(204, "DELETE", path, { token: user.token });
    await expectStatus(404, "DELETE", path, { token: user.token });
    await expectStatus(401, "GET", "/v1/users/me/addresses");
    await expectStatus(401, "POST", "/v1/users/me/addresses", { body: home });
  });

  test("400 for what the document's bounds refuse", async () => {
    const user = await register();
    for (const bad of [
      { ...home, country: "us" },
      { ...home, country: "USA" },
      { ...home, line1: "" },
      { ...home, line1: "x".repeat(201) },
      { ...home, label: "x".repeat(51) },
      { ...home, postal_code: "1".repeat(21) },
      { ...home, city: "new\nline" },
      { ...home, planet: "Earth" },
      { line1: "1 Main St", country: "US" },
    ]) {
      await expectStatus(400, "POST", "/v1/users/me/addresses", { token: user.token, body: bad, schema: "invalid" });
    }
    const added = await expectStatus(201, "POST", "/v1/users/me/addresses", { token: user.token, body: home });
    await expectStatus(400, "PUT", `/v1/users/me/addresses/${added.json.id}`, {
      token: user.token, body: { ...home, country: 49 }, schema: "invalid",
    });
  });

  test("409 beyond 20 addresses", async () => {
    const user = await register();
    for (let i = 0; i < 20; i++) {
      await expectStatus(201, "POST", "/v1/users/me/addresses", { token: user.token, body: { ...home, label: `#${i}` } });
    }
    await expectStatus(409, "POST", "/v1/users/me/addresses", { token: user.token, body: home, schema: "valid" });
    const list = await expectStatus(200, "GET", "/v1/users/me/addresses", { token: user.token });
    assert.equal(list.json.addresses.length, 20);
  });
});

describe("deletion and export", () => {
  test("an export is 202 pending, readable by its owner only", async () => {
    const user = await register();
    const other = await register("Eve");
    const requested = await expectStatus(202, "POST", "/v1/users/me/exports", { token: user.token });
    assert.equal(requested.json.status, "pending");
    const path = `/v1/users/me/exports/${requested.json.id}`;
    assert.equal(requested.headers.get("location"), path);
    const read = await expectStatus(200, "GET", path, { token: user.token });
    assert.equal(read.json.id, requested.json.id);
    await expectStatus(404, "GET", path, { token: other.token });
    await expectStatus(404, "GET", "/v1/users/me/exports/not-a-uuid", { token: user.token });
    await expectStatus(401, "GET", path);
    await expectStatus(403, "GET", path, { token: key.token("auth-service") });
    await expectStatus(404, "POST", "/v1/users/me/exports", { token: key.token(randomUUID()) });
  });

  test("deletion is 202 once; then the account is deleting", async () => {
    const user = await register();
    const accepted = await expectStatus(202, "POST", "/v1/users/me/deletion", { token: user.token });
    assert.deepEqual(accepted.json, { status: "deleting" });
    await expectStatus(404, "POST", "/v1/users/me/deletion", { token: user.token });
    await expectStatus(403, "GET", "/v1/users/me", { token: user.token });
    const seen = await expectStatus(200, "GET", `/v1/users/${user.id}`, { token: ADMIN });
    assert.equal(seen.json.status, "deleting");
    await expectStatus(401, "POST", "/v1/users/me/deletion");
    await expectStatus(403, "POST", "/v1/users/me/deletion", { token: key.token("auth-service") });
  });
});

describe("admin", () => {
  test("list and search with pagination; 400 for bad parameters; 401 and 403", async () => {
    const marker = `Zebra${randomUUID().slice(0, 8)}`;
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await register(`${marker} ${i}`)).id);
    ids.sort(); // the list's order
    const first = await expectStatus(200, "GET", `/v1/users?q=${marker}&limit=2`, { token: ADMIN });
    assert.deepEqual(first.json.users.map((u) => u.id), ids.slice(0, 2));
    assert.equal(first.json.next_cursor, ids[1]);
    const second = await expectStatus(200, "GET",
      `/v1/users?q=${marker.toUpperCase()}&limit=2&cursor=${first.json.next_cursor}`, { token: ADMIN });
    assert.deepEqual(second.json.users.map((u) => u.id), ids.slice(2));
    assert.equal(second.json.next_cursor, undefined);
    await expectStatus(200, "GET", "/v1/users", { token: ADMIN });
    for (const query of ["limit=0", "limit=101", "limit=ten", "cursor=bogus", `q=${"x".repeat(101)}`]) {
      await expectStatus(400, "GET", `/v1/users?${query}`, { token: ADMIN });
    }
    await expectStatus(401, "GET", "/v1/users");
    await expectStatus(403, "GET", "/v1/users", { token: key.token(randomUUID()) });
  });

  test("one user, disable, enable: 200 with ETag; 404 for no such user; 403 without the role", async () => {
    const user = await register();
    const read = await expectStatus(200, "GET", `/v1/users/${user.id}`, { token: ADMIN });
    assert.equal(read.json.email, user.email);
    const disabled = await expectStatus(200, "POST", `/v1/users/${user.id}/disable`, { token: ADMIN });
    assert.equal(disabled.json.status, "disabled");
    assert.equal(disabled.headers.get("etag"), '"2"');
    const enabled = await expectStatus(200, "POST", `/v1/users/${user.id}/enable`, { token: ADMIN });
    assert.equal(enabled.json.status, "active");
    const nobody = randomUUID();
    for (const [method, path] of [["GET", ""], ["POST", "/disable"], ["POST", "/enable"]]) {
      await expectStatus(404, method, `/v1/users/${nobody}${path}`, { token: ADMIN });
      await expectStatus(404, method, `/v1/users/not-a-uuid${path}`, { token: ADMIN });
      await expectStatus(403, method, `/v1/users/${user.id}${path}`, { token: user.token });
      await expectStatus(401, method, `/v1/users/${user.id}${path}`);
    }
  });

  test("roles: 200 sorted and without duplicates; 400 for bad names or more than 16", async () => {
    const user = await register();
    const path = `/v1/users/${user.id}/roles`;
    const set = await expectStatus(200, "PUT", path, {
      token: ADMIN, body: { roles: ["support", "admin", "support"] }, schema: "valid",
    });
    assert.deepEqual(set.json.roles, ["admin", "support"]);
    const many = Array.from({ length: 17 }, (_, i) => `role${i}`);
    for (const bad of [
      { roles: ["Bad Role"] },
      { roles: ["x".repeat(33)] },
      { roles: "admin" },
      { roles: [42] },
      { roles: many },
      { roles: Array.from({ length: 100000 }, (_, i) => `r${i}`) },
      {},
      { roles: [], extra: 1 },
    ]) {
      await expectStatus(400, "PUT", path, { token: ADMIN, body: bad, schema: "invalid" });
    }
    await expectStatus(404, "PUT", `/v1/users/${randomUUID()}/roles`, { token: ADMIN, body: { roles: [] } });
    await expectStatus(403, "PUT", path, { token: user.token, body: { roles: [] } });
    await expectStatus(200, "PUT", path, { token: ADMIN, body: { roles: [] }, schema: "valid" });
  });
});

describe("credential check (internal)", () => {
  const check = (body, token = SERVICE, schema) =>
    call("POST", "/internal/v1/credentials/check", { body, token, schema });

  test("200 for the right password; 401 alike for a wrong password or unknown address", async () => {
    const user = await register();
    const client = `198.51.100.${1 + (counter % 200)}`;
    const ok = await check({ email: user.email, password: user.password, client_address: client }, SERVICE, "valid");
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.json, { user_id: user.id, email: user.email, roles: [] });
    const wrong = await check({ email: user.email, password: "wrong horse", client_address: client });
    assert.equal(wrong.status, 401, wrong.text);
    assert.equal(wrong.headers.get("www-authenticate"), "Bearer");
    const unknown = await check({ email: uniqueEmail("nobody"), password: "x", client_address: null });
    assert.equal(unknown.status, 401, unknown.text);
    assert.equal(JSON.parse(unknown.text).detail, JSON.parse(wrong.text).detail);
  });

  test("401 without a token, 403 without the scope or for a disabled account, 400 out of bounds", async () => {
    const user = await register();
    const body = { email: user.email, password: user.password };
    assert.equal((await check(body, null)).status, 401);
    assert.equal((await check(body, user.token)).status, 403);
    await expectStatus(200, "POST", `/v1/users/${user.id}/disable`, { token: ADMIN });
    const disabled = await check(body);
    assert.equal(disabled.status, 403, disabled.text);
    for (const bad of [
      { email: user.email },
      { email: user.email, password: "" },
      { email: user.email, password: "x".repeat(1025) },
      { email: user.email, password: "x", client_address: "x".repeat(65) },
      { email: user.email, password: "x", remember: true },
      { email: ["x"], password: "x" },
    ]) {
      const r = await check(bad, SERVICE, "invalid");
      assert.equal(r.status, 400, r.text);
    }
  });

  test("429 with Retry-After once an account has failed five times", async () => {
    const user = await register();
    const client = "203.0.113.9";
    for (let i = 0; i < 5; i++) {
      const r = await check({ email: user.email, password: "wrong horse", client_address: client });
      assert.equal(r.status, 401, r.text);
    }
    const locked = await check({ email: user.email, password: user.password, client_address: client });
    assert.equal(locked.status, 429, locked.text);
    assert.ok(Number(locked.headers.get("retry-after")) >= 1);
  });
});

describe("coverage", () => {
  test("every documented operation was called and every documented success seen", () => {
    const missing = [];
    for (const op of api.operations()) {
      const seen = api.exercised.get(`${op.method} ${op.template}`) ?? new Set();
      for (const status of Object.keys(op.operation.responses)) {
        if (/^[23]/.test(status) && !seen.has(status)) missing.push(`${op.method} ${op.template} ${status}`);
      }
    }
    assert.deepEqual(missing, []);
  });
});

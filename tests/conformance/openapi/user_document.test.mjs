// docs/api/user.openapi.json itself: a valid OpenAPI 3.1 document, every schema in it
// compiles under ajv's strict mode, and it has exactly the routes src/services/user registers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Validator } from "@seriousme/openapi-schema-validator";
import { OpenApiDocument } from "./openapi.mjs";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const documentPath = `${root}docs/api/user.openapi.json`;

test("the document validates against the OpenAPI 3.1 schema", async () => {
  const validator = new Validator();
  const result = await validator.validate(JSON.parse(readFileSync(documentPath, "utf8")));
  assert.equal(validator.version, "3.1");
  assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
});

test("every schema compiles (strict: no unknown keywords) and every $ref resolves", () => {
  const api = new OpenApiDocument(documentPath);
  let compiled = 0;
  for (const name of Object.keys(api.doc.components.schemas)) {
    api.validator(`#/components/schemas/${name}`);
    compiled++;
  }
  // Walk the whole document for $refs and the schemas of parameters, headers and bodies.
  const walk = (node, pointer) => {
    if (Array.isArray(node)) return node.forEach((v, i) => walk(v, `${pointer}/${i}`));
    if (!node || typeof node !== "object") return;
    if (typeof node.$ref === "string") api.resolve(node, pointer);
    for (const [key, value] of Object.entries(node)) {
      const child = `${pointer}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`;
      if (key === "schema" && value && typeof value === "object") {
        api.validator(child);
        compiled++;
      }
      walk(value, child);
    }
  };
  walk(api.doc, "#");
  assert.ok(compiled > 20, `only ${compiled} schemas compiled`);
});

test("every path parameter is declared, and every operation has an id and a success status", () => {
  const api = new OpenApiDocument(documentPath);
  const ids = new Set();
  for (const op of api.operations()) {
    const where = `${op.method} ${op.template}`;
    assert.ok(op.operation.operationId, `${where} has no operationId`);
    assert.ok(!ids.has(op.operation.operationId), `${where}: operationId used twice`);
    ids.add(op.operation.operationId);
    const declared = [
      ...(api.doc.paths[op.template].parameters ?? []),
      ...(op.operation.parameters ?? []),
    ].map((p) => api.resolve(p, "").node).filter((p) => p.in === "path").map((p) => p.name);
    const inTemplate = [...op.template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    assert.deepEqual(declared.sort(), inTemplate.sort(), `${where}: path parameters`);
    const statuses = Object.keys(op.operation.responses);
    assert.ok(statuses.some((s) => s.startsWith("2")), `${where} documents no success`);
    assert.ok(!statuses.includes("default"), `${where}: "default" would document any status`);
  }
});

test("the document has exactly the routes the user service registers", () => {
  // The routes as src/services/user/user_api.cpp adds them: add("METHOD", "/path", …) and
  // router.add("METHOD", "/path", …).
  const source = readFileSync(`${root}src/services/user/user_api.cpp`, "utf8");
  const registered = [...source.matchAll(/"(GET|POST|PUT|PATCH|DELETE)",\s*"(\/[^"]*)"/g)]
    .map((m) => `${m[1]} ${m[2]}`)
    .sort();
  assert.ok(registered.length >= 15, `found only ${registered.length} routes in user_api.cpp`);
  const documented = new OpenApiDocument(documentPath)
    .operations()
    .map((op) => `${op.method} ${op.template}`)
    .sort();
  assert.deepEqual(documented, registered);
});

test("the internal credential check is marked internal and needs the service scope", () => {
  const api = new OpenApiDocument(documentPath);
  for (const op of api.operations()) {
    const internal = op.template.startsWith("/internal/");
    assert.equal(op.operation["x-internal"] === true, internal, `${op.method} ${op.template}: x-internal`);
    if (internal) {
      assert.deepEqual(op.operation.security, [{ serviceBearer: ["stoa.user.credentials"] }]);
    }
  }
});

// An OpenAPI 3.1 document as a checker of real traffic: which operation a request reached,
// whether the response's status is documented for it, whether its body validates against the
// documented schema (ajv, JSON Schema 2020-12, formats) and its documented headers are there.
// Every check is recorded, so a suite can tell which operations and statuses it exercised.
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { readFileSync } from "node:fs";

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

// RFC 6901: "~" and "/" inside a token.
const escapePointer = (token) => token.replaceAll("~", "~0").replaceAll("/", "~1");
const unescapePointer = (token) => token.replaceAll("~1", "/").replaceAll("~0", "~");

export class OpenApiDocument {
  constructor(path) {
    this.path = path;
    this.doc = JSON.parse(readFileSync(path, "utf8"));
    this.id = "openapi.json";
    // Strict: a misspelt keyword in a schema ("maxLenght") fails compilation instead of
    // silently allowing everything. The document's own top-level fields are not schema
    // keywords; listing them lets ajv take the whole document as the root that refs point into.
    this.ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addVocabulary(Object.keys(this.doc));
    this.ajv.addSchema(this.doc, this.id);
    this.validators = new Map();
    this.exercised = new Map(); // "METHOD template" -> Set of statuses seen
  }

  // The value at a local reference ("#/components/…"), and its pointer.
  resolve(node, pointer) {
    const seen = new Set();
    while (node && typeof node.$ref === "string") {
      if (!node.$ref.startsWith("#/") || seen.has(node.$ref)) throw new Error(`cannot resolve ${node.$ref}`);
      seen.add(node.$ref);
      pointer = node.$ref;
      node = node.$ref
        .slice(2)
        .split("/")
        .map(unescapePointer)
        .reduce((at, token) => (at === undefined ? undefined : at[token]), this.doc);
      if (node === undefined) throw new Error(`${pointer} does not exist in ${this.path}`);
    }
    return { node, pointer };
  }

  validator(pointer) {
    let validate = this.validators.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `${this.id}${pointer}` });
      this.validators.set(pointer, validate);
    }
    return validate;
  }

  // Every operation: { method, template, operation, pointer }.
  operations() {
    const out = [];
    for (const [template, item] of Object.entries(this.doc.paths ?? {})) {
      for (const method of METHODS) {
        if (item[method]) {
          out.push({
            method: method.toUpperCase(),
            template,
            operation: item[method],
            pointer: `#/paths/${escapePointer(template)}/${method}`,
          });
        }
      }
    }
    return out;
  }

  // The operation a request for `path` reaches: as the router matches, literal segments win
  // over `{parameters}`.
  match(method, path) {
    const segments = path.split("?")[0].split("/");
    let best = null;
    let bestLiterals = -1;
    for (const op of this.operations()) {
      if (op.method !== method) continue;
      const parts = op.template.split("/");
      if (parts.length !== segments.length) continue;
      let literals = 0;
      const fits = parts.every((part, i) => {
        if (/^\{[^}]+\}$/.test(part)) return segments[i] !== "";
        if (part === segments[i]) return ++literals;
        return false;
      });
      if (fits && literals > bestLiterals) {
        best = op;
        bestLiterals = literals;
      }
    }
    return best;
  }

  // The request body schema's verdict on `body` (a parsed JSON value), or null when the
  // operation documents no JSON body.
  acceptsRequestBody(op, body) {
    const requestBody = op.operation.requestBody;
    if (!requestBody) return null;
    const { node, pointer } = this.resolve(requestBody, `${op.pointer}/requestBody`);
    if (!node.content?.["application/json"]?.schema) return null;
    const validate = this.validator(`${pointer}/content/application~1json/schema`);
    return { ok: validate(body), errors: validate.errors };
  }

  // Checks one response of `op`; returns the list of what is wrong (empty when it conforms).
  // `response`: { status, headers: { get(name) }, text }.
  check(op, response) {
    const failures = [];
    const key = `${op.method} ${op.template}`;
    if (!this.exercised.has(key)) this.exercised.set(key, new Set());
    this.exercised.get(key).add(String(response.status));

    const documented = op.operation.responses?.[String(response.status)];
    if (!documented) {
      failures.push(`status ${response.status} is not documented for ${key}`);
      return failures;
    }
    const { node, pointer } = this.resolve(
      documented,
      `${op.pointer}/responses/${response.status}`,
    );
    for (const [name, header] of Object.entries(node.headers ?? {})) {
      const resolved = this.resolve(header, `${pointer}/headers/${escapePointer(name)}`);
      const value = response.headers.get(name);
      if (value === null || value === undefined) {
        if (resolved.node.required) failures.push(`${key} ${response.status}: no ${name} header`);
        continue;
      }
      if (resolved.node.schema) {
        const validate = this.validator(`${resolved.pointer}/schema`);
        if (!validate(value)) {
          failures.push(`${key} ${response.status}: header ${name}: ${JSON.stringify(value)} ` +
                        this.ajv.errorsText(validate.errors));
        }
      }
    }
    if (!node.content) {
      if (response.text.length > 0) {
        failures.push(`${key} ${response.status}: a body where none is documented: ${response.text}`);
      }
      return failures;
    }
    const mediaType = (response.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
    if (!node.content[mediaType]) {
      failures.push(`${key} ${response.status}: Content-Type ${JSON.stringify(mediaType)} is not ` +
                    `one of ${Object.keys(node.content).join(", ")}`);
      return failures;
    }
    let body;
    try {
      body = JSON.parse(response.text);
    } catch (e) {
      failures.push(`${key} ${response.status}: the body is not JSON: ${e.message}`);
      return failures;
    }
    const schema = node.content[mediaType].schema;
    if (schema) {
      const validate = this.validator(`${pointer}/content/${escapePointer(mediaType)}/schema`);
      if (!validate(body)) {
        failures.push(`${key} ${response.status}: ${this.ajv.errorsText(validate.errors)} in ` +
                      response.text.slice(0, 500));
      }
    }
    // A problem document's own status is the response's (RFC 9457 §3.1.2).
    if (mediaType === "application/problem+json" && body?.status !== response.status) {
      failures.push(`${key} ${response.status}: the problem document says status ${body?.status}`);
    }
    return failures;
  }
}

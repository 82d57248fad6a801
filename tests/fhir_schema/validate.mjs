#!/usr/bin/env node
// Validates FHIR R4 JSON files against the official R4 JSON schema, so that what labvault emits
// (Bundles, OperationOutcomes) is checked by a validator that labvault did not write.
//
// Usage:  node tests/fhir_schema/validate.mjs FILE.json...
//   The schema is read from $FHIR_SCHEMA, else from ../shared/testdata/fhir/fhir.schema.json
//   beside the repository (the layout of /work: main/ and shared/ side by side).
//   Install once: npm install --prefix tests/fhir_schema
// Exit status: 0 when every file is valid, 1 when any file is invalid or unreadable, 2 on usage.
//
// The shipped schema is draft-06 with a draft-04 style `id` and an OpenAPI `discriminator`;
// ajv 8 wants `$id` and rejects unknown keywords in strict mode, so both are fixed up here
// instead of editing the shared (read-only) schema file.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const Ajv = require("ajv");
const draft06 = require("ajv/lib/refs/json-schema-draft-06.json");

const here = dirname(fileURLToPath(import.meta.url));
const schemaPath =
  process.env.FHIR_SCHEMA ?? resolve(here, "../../../shared/testdata/fhir/fhir.schema.json");

const files = process.argv.slice(2);
if (files.length === 0 || files.includes("--help")) {
  console.error("usage: node validate.mjs FILE.json...   (schema from $FHIR_SCHEMA)");
  process.exit(files.length === 0 ? 2 : 0);
}

function loadSchema(path) {
  const schema = JSON.parse(readFileSync(path, "utf8"));
  schema.$id = schema.id;
  delete schema.id;
  delete schema.discriminator;
  return schema;
}

let validate, ajv, schema;
const compiled = new Map();
try {
  // strict:false: the FHIR schema uses formats and keywords ajv's strict mode does not know.
  // allErrors: report every problem of a file, not just the first.
  ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  ajv.addMetaSchema(draft06);
  schema = loadSchema(schemaPath);
  validate = ajv.compile(schema);
} catch (e) {
  console.error(`cannot load FHIR schema ${schemaPath}: ${e.message}`);
  process.exit(1);
}

// ResourceList is a oneOf over ~150 resources, so ajv reports a problem in one resource as a
// failure of every branch. For a readable report, validate the document's own resource type and
// each Bundle entry's resource against its own definition, with instance paths from the root.
function definitionFor(type) {
  const key = `#/definitions/${type}`;
  if (!compiled.has(key)) {
    compiled.set(key, schema.definitions[type] ? ajv.compile({ $ref: `${schema.$id}${key}` }) : null);
  }
  return compiled.get(key);
}

function explain(doc) {
  const found = [];
  const check = (node, prefix) => {
    const v = node && typeof node === "object" ? definitionFor(node.resourceType) : null;
    if (!v) {
      found.push({ instancePath: prefix, message: "resourceType is missing or not an R4 resource" });
      return;
    }
    if (!v(node)) for (const e of v.errors) found.push({ ...e, instancePath: prefix + e.instancePath });
  };
  if (doc && doc.resourceType === "Bundle" && Array.isArray(doc.entry)) {
    const withoutResource = (e) => {
      if (!e || typeof e !== "object") return e;
      const { resource, ...rest } = e;
      return rest;
    };
    const shell = { ...doc, entry: doc.entry.map(withoutResource) };
    check(shell, "");
    doc.entry.forEach((e, i) => e && e.resource !== undefined && check(e.resource, `/entry/${i}/resource`));
  } else {
    check(doc, "");
  }
  return found.length > 0 ? found : validate.errors;
}

let failed = 0;
for (const file of files) {
  let doc;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    console.log(`FAIL ${file}: not readable JSON: ${e.message}`);
    ++failed;
    continue;
  }
  if (validate(doc)) {
    console.log(`ok   ${file}`);
    continue;
  }
  ++failed;
  const seen = new Set();
  const lines = [];
  for (const e of explain(doc)) {
    const line = `${e.instancePath || "/"} ${e.message}${
      e.params && e.params.allowedValues ? ` (${e.params.allowedValues.join(", ")})` : ""
    }${e.params && e.params.additionalProperty ? ` '${e.params.additionalProperty}'` : ""}`;
    if (!seen.has(line)) seen.add(line), lines.push(line);
  }
  console.log(`FAIL ${file}: ${lines.length} problem(s)`);
  for (const l of lines.slice(0, 50)) console.log(`  ${l}`);
  if (lines.length > 50) console.log(`  ... ${lines.length - 50} more`);
}
console.log(`${files.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

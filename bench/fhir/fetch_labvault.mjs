// Exports the demo lab's resources from labvault over HTTPS for bench/fhir.sh, so that the Medplum
// peer can be loaded with exactly what labvault serves:
//   LV_COOKIE='lv_session=...' node fetch_labvault.mjs BASE CA_FILE OUT_DIR
// BASE is labvault's FHIR base (https://127.0.0.1:PORT/fhir/DEMO). It reads every Patient
// (Patient?_count=200), then each patient's Observations and DiagnosticReports
// (TYPE?patient=ID&_count=200), following each searchset's "next" links, and writes to OUT_DIR:
//   resources.json    a JSON array of the distinct Patient, Observation, DiagnosticReport resources
//   patients.txt      the patient ids, one a line (in labvault's order)
//   observations.txt  the observation ids, one a line
//   per-patient.txt   "PATIENT_ID OBSERVATION_COUNT" a line (to check the peer finds the same)
// Prints "fetched N resources (DiagnosticReport a, Observation b, Patient c) in R requests".
import fs from "node:fs";
import https from "node:https";
import path from "node:path";

const [base, caFile, outDir] = process.argv.slice(2);
if (!base || !caFile || !outDir) {
  console.error("usage: LV_COOKIE=... node fetch_labvault.mjs BASE CA_FILE OUT_DIR");
  process.exit(2);
}
const agent = new https.Agent({ ca: fs.readFileSync(caFile), keepAlive: true, maxSockets: 4 });
const headers = { Accept: "application/fhir+json" };
if (process.env.LV_COOKIE) headers.Cookie = process.env.LV_COOKIE;
let requests = 0;

function get(url) {
  requests++;
  return new Promise((resolve, reject) => {
    https
      .get(url, { agent, headers }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode !== 200) {
            reject(new Error(`GET ${url}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
            return;
          }
          try {
            resolve(JSON.parse(text));
          } catch (e) {
            reject(new Error(`GET ${url}: not JSON: ${text.slice(0, 300)}`));
          }
        });
      })
      .on("error", (e) => reject(new Error(`GET ${url}: ${e.message}`)));
  });
}

// Every resource of TYPE in a search, across pages (entries with search.mode "include" and
// OperationOutcomes are left out).
async function searchAll(relative, type) {
  const found = [];
  let url = new URL(`${base}/${relative}`);
  for (let page = 0; url; page++) {
    if (page === 1000) throw new Error(`${relative}: more than 1000 pages`);
    const bundle = await get(url);
    if (bundle.resourceType !== "Bundle") throw new Error(`${relative}: not a Bundle but ${bundle.resourceType}`);
    for (const entry of bundle.entry ?? []) {
      if (entry.resource?.resourceType === type && entry.search?.mode !== "include") found.push(entry.resource);
    }
    const next = (bundle.link ?? []).find((l) => l.relation === "next")?.url;
    url = next ? new URL(next, url) : undefined;
  }
  return found;
}

async function main() {
  const byKey = new Map();
  const add = (r) => {
    if (!r.id) throw new Error(`a ${r.resourceType} without an id`);
    byKey.set(`${r.resourceType}/${r.id}`, r);
  };
  const patients = await searchAll("Patient?_count=200", "Patient");
  if (patients.length === 0) throw new Error("labvault lists no patients");
  patients.forEach(add);
  const observationIds = [];
  const perPatient = [];
  for (const p of patients) {
    const q = `patient=${encodeURIComponent(p.id)}&_count=200`;
    const observations = await searchAll(`Observation?${q}`, "Observation");
    observations.forEach(add);
    observations.forEach((o) => observationIds.push(o.id));
    perPatient.push(`${p.id} ${observations.length}`);
    (await searchAll(`DiagnosticReport?${q}`, "DiagnosticReport")).forEach(add);
  }
  if (observationIds.length === 0) throw new Error("labvault returned no observations");

  const resources = [...byKey.values()];
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, "resources.json"), JSON.stringify(resources));
  fs.writeFileSync(path.join(outDir, "patients.txt"), patients.map((p) => p.id).join("\n") + "\n");
  fs.writeFileSync(path.join(outDir, "observations.txt"), [...new Set(observationIds)].join("\n") + "\n");
  fs.writeFileSync(path.join(outDir, "per-patient.txt"), perPatient.join("\n") + "\n");
  const counts = {};
  for (const r of resources) counts[r.resourceType] = (counts[r.resourceType] ?? 0) + 1;
  const summary = Object.keys(counts).sort().map((t) => `${t} ${counts[t]}`).join(", ");
  console.log(`fetched ${resources.length} resources (${summary}) in ${requests} requests`);
  agent.destroy();
}

main().catch((e) => {
  console.error(`fetch_labvault: ${e.message}`);
  process.exit(1);
});

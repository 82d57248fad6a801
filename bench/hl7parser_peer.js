// The JavaScript peer for bench/parse.sh: npm hl7parser reading what a lab integration needs from
// an ORU^R01 (patient id, name, birth date, and every OBX's code, value, units and flags).
//   node hl7parser_peer.js MODULE_DIR FILE SECONDS
const [moduleDir, file, seconds] = process.argv.slice(2);
const hl7parser = require(require.resolve("hl7parser", { paths: [moduleDir] }));
const text = require("fs").readFileSync(file, "latin1").replace(/\r\n|\n/g, "\r").replace(/\r+$/, "");

// hl7parser parses lazily and returns null for absent fields; L() reads a value's text.
const L = (node) => ((node && node.toString()) || "").length;
let messages = 0, observations = 0, sink = 0;
const start = process.hrtime.bigint();
const deadline = start + BigInt(Math.round(Number(seconds) * 1e9));
let now = start;
while (now < deadline) {
  for (let i = 0; i < 200; i++) {
    const m = hl7parser.create(text);
    sink += L(m.get("PID.3.1")) + L(m.get("PID.5.1")) + L(m.get("PID.7"));
    m.get("OBX").forEach((obx) => {
      sink += L(obx.get("OBX.3.1")) + L(obx.get("OBX.5")) + L(obx.get("OBX.6.1")) + L(obx.get("OBX.8"));
      observations++;
    });
    messages++;
  }
  now = process.hrtime.bigint();
}
const elapsed = Number(now - start) / 1e9;
console.log(`hl7parser parse: ${messages} messages in ${elapsed.toFixed(2)} s = ${Math.round(messages / elapsed)} msg/s (${observations / messages} observations/msg, sink ${sink % 10})`);

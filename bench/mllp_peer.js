// The JavaScript peers for bench/ingest.sh: an MLLP server built with an npm HL7 library that
// parses each message and answers AA, storing nothing (no database, no encryption, no audit),
// over plaintext TCP on 127.0.0.1. A baseline for the cost of receive + parse + ACK only.
//   node mllp_peer.js MODULE_DIR simple-hl7|medplum [PORT]
// Prints "listening PORT" once it accepts connections; on SIGTERM/SIGINT prints
// "acked N messages, E errors" and exits.
const [moduleDir, which, portArg] = process.argv.slice(2);
const port = Number(portArg || 0);
const load = (name) => require(require.resolve(name, { paths: [moduleDir] }));
let acked = 0;
let errors = 0;
let netServer;

if (which === "simple-hl7") {
  // simple-hl7 3.x: connect-style middleware; res.ack is prebuilt (MSA-1 AA, MSA-2 = MSH-10)
  // and res.end() writes it framed.
  const hl7 = load("simple-hl7");
  const app = hl7.tcp();
  app.use((req, res, next) => {
    acked++;
    res.end();
  });
  app.use((err, req, res, next) => {
    errors++;
  });
  // TcpServer.start passes its first argument to net.Server.listen: an options object binds
  // loopback only (a bare port would listen on every interface).
  netServer = app.start({ port, host: "127.0.0.1" }).server;
} else if (which === "medplum") {
  // @medplum/hl7 4.x: Hl7Server hands each connection over; every parsed message arrives as a
  // "message" event and Hl7Message.buildAck() makes the AA (MSA-2 = MSH-10).
  const { Hl7Server } = load("@medplum/hl7");
  const server = new Hl7Server((connection) => {
    connection.addEventListener("message", ({ message }) => {
      connection.send(message.buildAck());
      acked++;
    });
    connection.addEventListener("error", () => {
      errors++;
    });
  });
  server.start({ port, host: "127.0.0.1" });  // passed on to net.Server.listen as well
  netServer = server.server;
} else {
  console.error("usage: node mllp_peer.js MODULE_DIR simple-hl7|medplum [PORT]");
  process.exit(2);
}

netServer.once("listening", () => console.log(`listening ${netServer.address().port}`));
netServer.on("error", (e) => {
  console.error(`mllp_peer ${which}: ${e.message}`);
  process.exit(1);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    console.log(`${which}: acked ${acked} messages, ${errors} errors`);
    process.exit(0);
  });
}

// PostGraphile 5 served by grafserv on node:http, one process: what bench/run.py measures.
//
//   NODE_ENV=production PG5_DATABASE_URL=... PG5_JWT_SECRET=... node server.mjs --port 8703
//
// POST /graphql answers GraphQL; GET /healthz answers 200 once the schema is built; GET /statements
// gives the SQL statements sent so far (transaction control aside), for the benchmark's count.
import { createServer } from "node:http";
import { parseArgs } from "node:util";

import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";

import { makePreset, sent } from "./graphile.config.mjs";

const { values } = parseArgs({ options: { host: { type: "string", default: "127.0.0.1" }, port: { type: "string" } } });
if (!values.port) throw new Error("--port is required");

const pgl = postgraphile(makePreset());
await pgl.getSchemaResult(); // introspect and build now, not on the first request
const serv = pgl.createServ(grafserv);
const graphql = serv.createHandler();

function json(res, status, body) {
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": payload.length });
  res.end(payload);
}

const server = createServer((req, res) => {
  graphql(req, res, () => {
    if (req.method === "GET" && req.url === "/healthz") json(res, 200, { status: "ok" });
    else if (req.method === "GET" && req.url === "/statements") json(res, 200, sent);
    else json(res, 404, { error: "not found" });
  });
});

async function stop() {
  server.close();
  await pgl.release();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

server.listen(Number(values.port), values.host);

// Runs graphql-http's server audits (GraphQL over HTTP conformance) against a running
// server and prints one JSON line: every audit's id, name, status and, when not ok, reason.
// Usage: NODE_PATH=<prefix>/node_modules node audit.mjs <url>
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.GRAPHQL_HTTP_PREFIX, "node_modules", "x.js"));
const { serverAudits } = require("graphql-http");

const url = process.argv[2];
const results = [];
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  results.push({
    id: result.id,
    name: result.name,
    status: result.status,
    reason: result.status === "ok" ? null : result.reason,
  });
}
process.stdout.write(JSON.stringify(results) + "\n");

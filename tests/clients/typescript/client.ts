// A front-end developer's client of the API: types from /openapi.json (openapi-typescript), calls through
// openapi-fetch. Compiled with tsc --strict and run by node in tests/test_clients.py, which compares what it
// prints with direct calls. Research proof of concept, not a diagnostic tool.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Features = components["schemas"]["Features"];

async function main(baseUrl: string, records: Features[]): Promise<void> {
  const client = createClient<paths>({ baseUrl });
  const one = await client.POST("/predict", { body: { features: records[1], explain: true, alpha: 0.01 } });
  if (one.error !== undefined) throw new Error(JSON.stringify(one.error));
  const batch = await client.POST("/predict/batch", { body: { instances: records } });
  if (batch.error !== undefined) throw new Error(JSON.stringify(batch.error));
  const rows = records.map((r) => Object.values(r));
  const infer = await client.POST("/v2/models/{name}/infer", {
    params: { path: { name: "wdbc" } },
    body: { inputs: [{ name: "input-0", shape: [rows.length, rows[0].length], datatype: "FP64", data: rows }] },
  });
  if (infer.error !== undefined) throw new Error(JSON.stringify(infer.error));
  const label: "benign" | "malignant" = one.data.label;
  process.stdout.write(JSON.stringify({ label, predict: one.data, batch: batch.data, infer: infer.data }) + "\n");
}

const [baseUrl, records] = process.argv.slice(2);
await main(baseUrl, JSON.parse(records) as Features[]);

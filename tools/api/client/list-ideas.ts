// A portal's first call through the client generated from
// gateway/openapi/motor.openapi.json (motor.d.ts, written by
// openapi-typescript in the test): list a region's ideas with a token.
// Usage: node dist/list-ideas.js <gateway URL> <region> <token>
import createClient from "openapi-fetch";
import type { paths } from "./motor.js";

async function main(): Promise<number> {
  const [baseUrl, region, token] = process.argv.slice(2);
  if (!baseUrl || !region || !token) {
    console.error("usage: list-ideas <gateway URL> <region> <token>");
    return 2;
  }
  const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
  const { data, error, response } = await client.GET("/v1/regions/{region}/ideas", {
    params: { path: { region }, query: { pageSize: 100 } },
  });
  if (error !== undefined || data === undefined) {
    // The error is the document's Status: its ErrorInfo names the reason.
    const reasons = (error?.details ?? []).map((d) => ("reason" in d ? d.reason : ""));
    console.error(`list ideas: ${response.status} ${error?.message ?? ""} ${reasons.join(",")}`);
    return 1;
  }
  const ideas = data.ideas ?? [];
  // One line the test reads: how many, and the first idea's name and stage.
  console.log(JSON.stringify({ count: ideas.length, first: ideas[0]?.name ?? "", stage: ideas[0]?.stage ?? "" }));
  return 0;
}

main().then((code) => process.exit(code));

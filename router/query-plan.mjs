// Prints the query plan Hive Gateway makes for an operation (the same planner it runs with:
// @graphql-hive/router-runtime), as JSON: which subgraph fetches, in which order, which in parallel.
//
//   node query-plan.mjs <supergraph.graphql> '<query>' [operationName]
import { readFileSync } from 'node:fs';
import { QueryPlanner } from '@graphql-hive/router-query-planner';

const [supergraphPath, query, operationName] = process.argv.slice(2);
if (!supergraphPath || !query) {
  process.stderr.write("usage: node query-plan.mjs <supergraph.graphql> '<query>' [operationName]\n");
  process.exit(2);
}
const planner = new QueryPlanner(readFileSync(supergraphPath, 'utf8'));
process.stdout.write(JSON.stringify(planner.plan(query, operationName ?? null, new Set(), 0), null, 2) + '\n');

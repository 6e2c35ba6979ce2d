#!/usr/bin/env node
// Composes subgraph SDL files into a supergraph with @apollo/composition, the library behind
// `rover supergraph compose`, so every router (Hive Gateway here, the Apollo Router in
// production) runs the same supergraph.
//
//   node compose.mjs --out ../schema/supergraph.graphql \
//        --subgraph auth ../schema/auth.graphql http://127.0.0.1:8001/graphql \
//        [--subgraph NAME SDL_FILE ROUTING_URL ...]
//   node compose.mjs --config supergraph.yaml --out FILE     (rover's config format)
//
// `healthcare schema compose` runs this with the subgraphs of subgraphs/cli/registry.py.
// Exit status: 0 composed, 1 composition errors (printed one per line), 2 bad usage.
// Paths are relative to the current directory; `--config` paths to the config file.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

function usage(message) {
  process.stderr.write(`compose: ${message}\n`);
  process.stderr.write(
    'usage: node compose.mjs --out FILE (--subgraph NAME SDL_FILE ROUTING_URL)... | --config supergraph.yaml\n',
  );
  process.exit(2);
}

async function subgraphsFromConfig(path) {
  // Only the subset of rover's format that router/supergraph.yaml uses: schema.file + routing_url.
  const { parse: parseYaml } = await import('yaml');
  const config = parseYaml(readFileSync(path, 'utf8'));
  const base = dirname(resolve(path));
  return Object.entries(config.subgraphs ?? {}).map(([name, entry]) => {
    if (!entry?.schema?.file) usage(`${path}: subgraph ${name} has no schema.file`);
    return { name, file: resolve(base, entry.schema.file), url: entry.routing_url };
  });
}

async function main(argv) {
  let out = null;
  let config = null;
  const subgraphs = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--out') out = argv[++i];
    else if (arg === '--config') config = argv[++i];
    else if (arg === '--subgraph') {
      const [name, file, url] = argv.slice(i + 1, i + 4);
      if (!name || !file || !url) usage('--subgraph needs NAME SDL_FILE ROUTING_URL');
      subgraphs.push({ name, file, url });
      i += 3;
    } else usage(`unknown argument ${arg}`);
  }
  if (config) subgraphs.push(...(await subgraphsFromConfig(config)));
  if (!out) usage('--out is required');
  if (subgraphs.length === 0) usage('no subgraphs given');

  const services = [];
  for (const { name, file, url } of subgraphs) {
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(name)) usage(`bad subgraph name ${JSON.stringify(name)}`);
    if (!url || !/^https?:\/\//.test(url)) usage(`subgraph ${name}: routing URL must be http(s), got ${url}`);
    let sdl;
    try {
      sdl = readFileSync(file, 'utf8');
    } catch (error) {
      process.stderr.write(`compose: cannot read ${file} for subgraph ${name}: ${error.message}\n`);
      return 1;
    }
    try {
      services.push({ name, url, typeDefs: parse(sdl, { noLocation: false }) });
    } catch (error) {
      process.stderr.write(`compose: ${file} (subgraph ${name}) is not valid GraphQL: ${error.message}\n`);
      return 1;
    }
  }

  const result = composeServices(services);
  if (result.errors && result.errors.length > 0) {
    for (const error of result.errors) {
      const code = error.extensions?.code ?? 'COMPOSITION_ERROR';
      process.stderr.write(`composition error [${code}]: ${error.message}\n`);
    }
    return 1;
  }
  for (const hint of result.hints ?? []) {
    process.stderr.write(`composition hint [${hint.definition?.code ?? 'HINT'}]: ${hint.message}\n`);
  }
  mkdirSync(dirname(resolve(out)), { recursive: true });
  const text = result.supergraphSdl.endsWith('\n') ? result.supergraphSdl : `${result.supergraphSdl}\n`;
  writeFileSync(out, text);
  process.stdout.write(`composed ${services.map((s) => s.name).join(', ')} into ${out}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`compose: ${error?.stack ?? error}\n`);
    process.exit(1);
  },
);

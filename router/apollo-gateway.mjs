// Apollo Gateway (@apollo/gateway + @apollo/server) in front of the subgraphs: the second router of
// the e2e tests, never a deploy target (that is the Apollo Router, router.yaml). It exists because
// Apollo's query planner and executor null a failed non-null field's nearest nullable parent, as
// the GraphQL spec says, where Hive Gateway stops one level early (docs/pitfalls.md #16): the
// tests run the same operations through both and compare `data`.
//
// It mirrors what clients and subgraphs see of gateway.config.ts, nothing more (docs/router.md):
//
//   HEALTHCARE_ENV          development (default) | production: introspection in development
//                           only; production cuts "Did you mean" from validation errors and
//                           refuses to start without ROUTER_SECRET
//   ROUTER_HOST, ROUTER_PORT   where it listens (127.0.0.1, 4000)
//   SUPERGRAPH_PATH         the composed supergraph (../schema/supergraph.graphql), read once
//   ROUTER_SECRET, ROUTER_SECRET_HEADER   added to every subgraph request (x-router-secret)
//   SUBGRAPH_TIMEOUT_MS     per subgraph request (10000)
//   MAX_BODY_BYTES          the largest request body (1000000, the subgraphs' own default)
//
// Not mirrored (Hive's plugins; the subgraphs enforce the same limits themselves): depth, alias,
// token and cost limits, CORS (no CORS headers: browsers may not call it cross-site), trusted
// proxies, the explorer page, metrics and the per-subgraph `/ready`.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError } from 'graphql';

const env = process.env;

// The same value as subgraphs/kit/settings.py DEV_ROUTER_SECRET and gateway.config.ts.
const DEV_ROUTER_SECRET = 'dev-router-secret-change-me';
const production = (env.HEALTHCARE_ENV || env.ENVIRONMENT) === 'production';

function fail(message) {
  process.stderr.write(`router configuration error: ${message}\n`);
  process.exit(78); // EX_CONFIG, as gateway.config.ts
}

function positive(name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) fail(`${name} must be a positive whole number`);
  return value;
}

const routerSecret = env.ROUTER_SECRET || DEV_ROUTER_SECRET;
if (production && routerSecret === DEV_ROUTER_SECRET) {
  fail('ROUTER_SECRET must be set to a real secret when HEALTHCARE_ENV=production');
}
const routerSecretHeader = (env.ROUTER_SECRET_HEADER || 'x-router-secret').toLowerCase();
const subgraphTimeout = positive('SUBGRAPH_TIMEOUT_MS', 10_000);
const maxBodyBytes = positive('MAX_BODY_BYTES', 1_000_000);
const supergraphSdl = readFileSync(env.SUPERGRAPH_PATH || '../schema/supergraph.graphql', 'utf8');

// gateway.config.ts PROPAGATED: the user's token (each subgraph verifies it), W3C trace context
// and the request id for the logs. Nothing else of the client's reaches a subgraph.
const PROPAGATED = ['authorization', 'traceparent', 'tracestate'];

function normalizeAddress(address) {
  // Node reports IPv4 clients of a dual-stack socket as ::ffff:a.b.c.d.
  return address?.startsWith('::ffff:') ? address.slice(7) : address;
}

/**
 * A subgraph that cannot answer fails only its own fields, with what Hive Gateway says
 * (gateway.config.ts SUBGRAPH_FAILURES): which service and why, never its URL or the request.
 */
function subgraphFailure(service, error) {
  const status = error?.extensions?.response?.status;
  if (status === 413) {
    return { message: `The request is too large for the ${service} service.`, code: 'PAYLOAD_TOO_LARGE' };
  }
  if (error?.name === 'TimeoutError' || error?.name === 'AbortError') {
    return { message: `The ${service} service did not answer in time.`, code: 'GATEWAY_TIMEOUT' };
  }
  return { message: `The ${service} service is unavailable.`, code: 'SUBREQUEST_HTTP_ERROR' };
}

class SubgraphDataSource extends RemoteGraphQLDataSource {
  constructor(name, url) {
    // Node's own fetch with a deadline per subgraph request (the default fetcher has none).
    super({ url, fetcher: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(subgraphTimeout) }) });
    this.serviceName = name;
  }

  willSendRequest({ request, context }) {
    for (const [name, value] of Object.entries(context.forwarded)) request.http.headers.set(name, value);
    // Set last, from the router's own settings: a client can neither read nor replace it.
    request.http.headers.set(routerSecretHeader, routerSecret);
  }

  didEncounterError(error) {
    const { message, code } = subgraphFailure(this.serviceName, error);
    console.error(`subgraph ${this.serviceName}: ${code}: ${error?.cause?.message ?? error?.message}`);
    throw new GraphQLError(message, { extensions: { code, serviceName: this.serviceName } });
  }
}

/**
 * Errors as clients see them (gateway.config.ts maskError): a subgraph's own errors pass with
 * their `code` and `serviceName` (the subgraphs mask their internals); the gateway's HTTP details
 * of a subgraph request are removed; anything without a known origin is "Unexpected error.".
 */
function formatError(formatted, error) {
  const { response: _response, request: _request, stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
  if (extensions.code === 'INTERNAL_SERVER_ERROR' && !extensions.serviceName) {
    // Apollo Server codes an error that has none INTERNAL_SERVER_ERROR: not a subgraph's, unexpected.
    console.error('unexpected error', error);
    return { ...formatted, message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  }
  return { ...formatted, extensions };
}

const gateway = new ApolloGateway({
  supergraphSdl,
  buildService: ({ name, url }) => new SubgraphDataSource(name, url),
});

const server = new ApolloServer({
  gateway,
  introspection: !production,
  // Production: no "Did you mean" in validation errors (Apollo's DisableSuggestions plugin).
  hideSchemaDetailsFromClientErrors: production,
  includeStacktraceInErrorResponses: false,
  formatError,
  persistedQueries: false,
  // Apollo's CSRF rule with Hive Gateway's header list (gateway.config.ts csrfPrevention).
  csrfPrevention: { requestHeaders: ['x-apollo-operation-name', 'apollo-require-preflight', 'x-graphql-csrf'] },
  // Apollo's landing page loads Sandbox from a CDN and does not render offline (docs/pitfalls.md #13).
  plugins: [ApolloServerPluginLandingPageDisabled()],
});

class TooLarge extends Error {}

/** The request body, refused past MAX_BODY_BYTES whether or not it has a Content-Length. */
async function readBody(req) {
  if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) throw new TooLarge();
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > maxBodyBytes) throw new TooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function handleGraphQL(req, res, url) {
  const requestId = req.headers['x-request-id'] || randomUUID();
  res.setHeader('x-request-id', requestId);
  let body;
  try {
    const text = req.method === 'POST' ? await readBody(req) : '';
    // Apollo Server parses nothing itself: a JSON body is its object, anything else its text.
    body = /^application\/json/i.test(req.headers['content-type'] ?? '') && text ? JSON.parse(text) : text;
  } catch (error) {
    if (error instanceof TooLarge) {
      req.resume(); // drain, so the client reads the answer instead of a reset
      const message = `The request body is too large: at most ${maxBodyBytes} bytes are accepted.`;
      return sendJson(res, 413, { errors: [{ message, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
    }
    return sendJson(res, 400, { errors: [{ message: 'The request body is not JSON.', extensions: { code: 'BAD_REQUEST' } }] });
  }
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const forwarded = { 'x-request-id': requestId };
  for (const name of PROPAGATED) if (req.headers[name]) forwarded[name] = req.headers[name];
  // The address this router saw, never what the client claims (auth limits logins per address).
  forwarded['x-forwarded-for'] = normalizeAddress(req.socket.remoteAddress);

  const answer = await server.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method.toUpperCase(), headers, search: url.search, body },
    context: async () => ({ forwarded }),
  });
  for (const [name, value] of answer.headers) res.setHeader(name, value);
  res.statusCode = answer.status ?? 200;
  if (answer.body.kind === 'complete') return res.end(answer.body.string);
  for await (const chunk of answer.body.asyncIterator) res.write(chunk);
  res.end();
}

const httpServer = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://router');
  // Both of Hive Gateway's names: the process is up; the supergraph is loaded. This server
  // listens only once the gateway has loaded it, so both are true whenever it answers.
  if (url.pathname === '/health' || url.pathname === '/ready/supergraph') return sendJson(res, 200, {});
  if (url.pathname !== '/graphql') return sendJson(res, 404, { errors: [{ message: 'Not found.' }] });
  handleGraphQL(req, res, url).catch((error) => {
    console.error('request failed', error);
    if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    else res.end();
  });
});

await server.start();
const host = env.ROUTER_HOST || '127.0.0.1';
const port = Number(env.ROUTER_PORT || 4000);
httpServer.listen(port, host, () => console.log(`Apollo Gateway listening on http://${host}:${port}/graphql`));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    httpServer.close();
    server.stop().finally(() => process.exit(0));
  });
}

// Hive Gateway configuration of the healthcare supergraph (see docs/router.md).
//
// Hive Gateway loads `gateway.config.ts` from its working directory by itself, even without
// `-c` (docs/pitfalls.md #8): run it from router/ only, and keep no other gateway.config.* here.
// Every setting comes from the environment, so the same file serves `healthcare dev`, the
// end-to-end tests and a container:
//
//   HEALTHCARE_ENV          development (default) | production: GraphiQL, the landing page and
//                           introspection are on in development only; production refuses to
//                           start without ROUTER_SECRET
//   ROUTER_PORT, ROUTER_HOST   where the router listens (4000, 127.0.0.1)
//   SUPERGRAPH_PATH         the composed supergraph (../schema/supergraph.graphql)
//   ROUTER_SECRET           the shared secret every subgraph's /graphql requires
//   ROUTER_SECRET_HEADER    its header (x-router-secret)
//   CORS_ORIGINS            allowed browser origins, comma-separated or a JSON list; none: no CORS
//   TRUSTED_PROXIES         addresses of proxies in front of the router whose X-Forwarded-For is
//                           believed (comma-separated); none by default
//   SUBGRAPH_TIMEOUT_MS     per subgraph request (10000); shorter than REQUEST_DEADLINE_MS
//   REQUEST_DEADLINE_MS     whole client request (30000)
//   ROUTER_MAX_DEPTH, ROUTER_MAX_TOKENS, ROUTER_MAX_ALIASES   document limits checked here before
//                           any subgraph is asked (15, 5000, 30: the subgraphs' own defaults,
//                           which still hold alone; depth counted as the subgraphs count it)
//   MAX_BODY_BYTES          the largest request body, refused with 413 before it is parsed
//                           (1000000: the subgraphs' own variable and default)
//   ROUTER_MAX_COST         the most an operation's estimated cost may be (10000: the subgraphs'
//                           GRAPHQL_MAX_COST default, which still holds alone)
//   LOG_LEVEL               debug | info | warn | error (info)
import { defineConfig } from '@graphql-hive/gateway';
import { unifiedGraphHandler } from '@graphql-hive/router-runtime';
import { GraphQLError } from 'graphql';
import { useMaxAliases } from './alias-limit.ts';
import { useBodyLimit } from './body-limit.ts';
import { useMaxDepth } from './depth-limit.ts';
import { useIntrospectionBesideFields } from './introspection-beside-fields.ts';
import { useNoSuggestions, withoutSuggestion } from './no-suggestions.ts';
import { useSubgraphReadiness } from './subgraph-readiness.ts';

const env = process.env;

// The same value as subgraphs/kit/settings.py DEV_ROUTER_SECRET: a laptop default that the
// subgraphs and this router both refuse in production.
const DEV_ROUTER_SECRET = 'dev-router-secret-change-me';

// As the subgraphs read it (subgraphs/kit/settings.py): HEALTHCARE_ENV, else ENVIRONMENT.
const production = (env.HEALTHCARE_ENV || env.ENVIRONMENT) === 'production';

function fail(message: string): never {
  // A misconfigured router must not start half-secured.
  process.stderr.write(`router configuration error: ${message}\n`);
  process.exit(78); // EX_CONFIG
}

function list(name: string): string[] {
  const raw = (env[name] ?? '').trim();
  if (!raw) return [];
  if (raw.startsWith('[')) {
    // The subgraphs read CORS_ORIGINS with pydantic, which expects JSON; accept that form too.
    const parsed = JSON.parse(raw);
    if (!Array.isArray(parsed)) fail(`${name} must be a JSON list or a comma-separated list`);
    return parsed.map((value) => String(value).trim()).filter(Boolean);
  }
  return raw.split(',').map((value) => value.trim()).filter(Boolean);
}

function positive(name: string, fallback: number, unit = ''): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) fail(`${name} must be a positive whole number${unit}`);
  return value;
}

const milliseconds = (name: string, fallback: number) => positive(name, fallback, ' of milliseconds');

const supergraphPath = env.SUPERGRAPH_PATH || '../schema/supergraph.graphql';

const routerSecret = env.ROUTER_SECRET || DEV_ROUTER_SECRET;
if (production && routerSecret === DEV_ROUTER_SECRET) {
  fail('ROUTER_SECRET must be set to a real secret when HEALTHCARE_ENV=production');
}
const routerSecretHeader = (env.ROUTER_SECRET_HEADER || 'x-router-secret').toLowerCase();

const maxAliases = positive('ROUTER_MAX_ALIASES', 30);
const maxDepth = positive('ROUTER_MAX_DEPTH', 15);
// The subgraphs' own name and default (subgraphs/kit/settings.py), so the router never forwards a
// body a subgraph would refuse.
const maxBodyBytes = positive('MAX_BODY_BYTES', 1_000_000, ' of bytes');

const subgraphTimeout = milliseconds('SUBGRAPH_TIMEOUT_MS', 10_000);
const requestDeadline = milliseconds('REQUEST_DEADLINE_MS', 30_000);
if (subgraphTimeout >= requestDeadline) {
  fail('SUBGRAPH_TIMEOUT_MS must be shorter than REQUEST_DEADLINE_MS, or clients time out first');
}

const corsOrigins = list('CORS_ORIGINS');
if (corsOrigins.includes('*') && corsOrigins.length > 1) fail('CORS_ORIGINS: "*" cannot be mixed with origins');
const cors =
  corsOrigins.length === 0
    ? false // no browser origin may call the router cross-site
    : corsOrigins[0] === '*'
      ? // Any origin, but then never with credentials (browsers refuse `*` with credentials anyway).
        { origin: '*', credentials: false, methods: ['GET', 'POST'] }
      : {
          origin: corsOrigins,
          credentials: true,
          methods: ['GET', 'POST'],
          allowedHeaders: ['authorization', 'content-type', 'traceparent', 'tracestate', 'x-request-id', 'apollo-require-preflight', 'x-apollo-operation-name'],
          exposedHeaders: ['x-request-id'],
          maxAge: 600,
        };

const trustedProxies = new Set(list('TRUSTED_PROXIES'));

function normalizeAddress(address: string | undefined): string | undefined {
  if (!address) return undefined;
  // Node reports IPv4 clients of a dual-stack socket as ::ffff:a.b.c.d.
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** The end client's address: the socket peer, or, behind trusted proxies, the last untrusted hop. */
function clientAddress(context: Record<string, any>, request: Request): string | undefined {
  const peer = normalizeAddress(context.req?.socket?.remoteAddress ?? context.req?.connection?.remoteAddress);
  if (!peer || !trustedProxies.has(peer)) {
    // A client-sent X-Forwarded-For is never believed: it would let anyone pick the address
    // the auth service rate-limits logins by.
    return peer;
  }
  const hops = (request.headers.get('x-forwarded-for') ?? '')
    .split(',')
    .map((hop) => normalizeAddress(hop.trim()))
    .filter((hop): hop is string => Boolean(hop));
  while (hops.length > 0 && trustedProxies.has(hops[hops.length - 1])) hops.pop();
  return hops.pop() ?? peer;
}

// What a client is told when a subgraph cannot answer: which service, never its address.
const SUBGRAPH_FAILURES: Record<string, (service: string) => string> = {
  SUBREQUEST_HTTP_ERROR: (service) => `The ${service} service is unavailable.`,
  GATEWAY_TIMEOUT: (service) => `The ${service} service did not answer in time.`,
};

function isOriginalGraphQLError(error: unknown): error is GraphQLError {
  if (!(error instanceof GraphQLError)) return false;
  return error.originalError == null || isOriginalGraphQLError(error.originalError);
}

/**
 * graphql-js quotes the whole rejected value of a variable (`got invalid value { email: ..., password:
 * ... }; reason`): it may be a password, so it is cut, as the subgraphs cut it; the path into the
 * value and the reason stay.
 */
function withoutVariableValue(error: GraphQLError): string {
  const reason = error.originalError?.message;
  const variable = /^Variable "\$\w+" got invalid value /.exec(error.message);
  if (!variable || !reason || !error.message.endsWith(`; ${reason}`)) return error.message;
  const quoted = error.message.slice(0, error.message.length - reason.length - 2);
  const at = / at "[^"]*"$/.exec(quoted)?.[0] ?? '';
  return `${variable[0].replace(/ got invalid value $/, ' got an invalid value')}${at}; ${reason}`;
}

/**
 * Errors as clients see them. A subgraph's own errors pass (the subgraphs mask their internals
 * and put a `code` in `extensions`), without the HTTP details of the subgraph request (internal
 * URL, body) that the gateway attaches; a subgraph that is down or too slow becomes a short
 * message with its `code` (SUBREQUEST_HTTP_ERROR, GATEWAY_TIMEOUT, as the Apollo Router says)
 * and `serviceName`, so the other fields' data still arrives with status 200; a subgraph's 413 is
 * PAYLOAD_TOO_LARGE; a variable the schema cannot coerce is BAD_USER_INPUT; anything else is
 * "Unexpected error." (logged in full by the gateway).
 */
function maskError(error: unknown, message: string): Error {
  const graphqlError = error instanceof GraphQLError ? error : undefined;
  const location = graphqlError
    ? { nodes: graphqlError.nodes, source: graphqlError.source, positions: graphqlError.positions, path: graphqlError.path }
    : {};
  const extensions = (graphqlError?.extensions ?? {}) as Record<string, unknown>;
  const code = typeof extensions.code === 'string' ? extensions.code : undefined;
  const serviceName = typeof extensions.serviceName === 'string' ? extensions.serviceName : undefined;
  if (code && serviceName && code in SUBGRAPH_FAILURES) {
    return new GraphQLError(SUBGRAPH_FAILURES[code](serviceName), { ...location, extensions: { code, serviceName } });
  }
  // A subgraph that refuses the request's size answers 413 with a problem document, not GraphQL;
  // the gateway reports that as an invalid response, with the status in `extensions.response`.
  const response = extensions.response as { status?: unknown } | undefined;
  if (serviceName && response?.status === 413) {
    return new GraphQLError(`The request is too large for the ${serviceName} service.`, {
      ...location,
      extensions: { code: 'PAYLOAD_TOO_LARGE', serviceName },
    });
  }
  if (graphqlError && isOriginalGraphQLError(graphqlError)) {
    if (!code && !graphqlError.path && graphqlError.message.startsWith('Variable "$')) {
      // A variable the schema cannot coerce: the client's mistake, coded as the subgraphs code it.
      return new GraphQLError(withoutVariableValue(graphqlError), {
        ...location,
        extensions: { ...extensions, code: 'BAD_USER_INPUT' },
      });
    }
    if (!('request' in extensions) && !('response' in extensions)) return graphqlError;
    const { request: _request, response: _response, ...kept } = extensions;
    return new GraphQLError(graphqlError.message, { ...location, extensions: kept });
  }
  return new GraphQLError(message, { ...location, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}

// Client headers the subgraphs need: the end user's token (every subgraph verifies it itself,
// the router does not: docs/architecture.md #6), W3C trace context and the request id for the logs.
const PROPAGATED = ['authorization', 'traceparent', 'tracestate', 'x-request-id'];

export const gatewayConfig = defineConfig({
  supergraph: supergraphPath,
  // Hive Router's query planner (Rust, native addon) instead of the JavaScript stitching planner.
  unifiedGraphHandler,
  // The supergraph is a file: re-read it when it changes (`healthcare schema compose` in dev).
  pollingInterval: production ? undefined : 10_000,

  host: env.ROUTER_HOST || '127.0.0.1',
  port: Number(env.ROUTER_PORT || 4000),
  requestDeadline,
  gracefulShutdownTimeout: 5_000,

  propagateHeaders: {
    fromClientToSubgraphs({ request, context }) {
      const headers: Record<string, string | undefined> = {};
      for (const name of PROPAGATED) {
        const value = request.headers.get(name);
        if (value) headers[name] = value;
      }
      headers['x-forwarded-for'] = clientAddress(context as Record<string, any>, request);
      // Added here, on subgraph requests only (not on every fetch the gateway makes), and after
      // the client's headers, so a client can neither read nor replace it.
      headers[routerSecretHeader] = routerSecret;
      return headers;
    },
  },
  // Subgraph requests: fail a slow subgraph's fields well before the client gives up.
  upstreamTimeout: subgraphTimeout,
  // `deduplicateInflightRequests` (identical in-flight subgraph queries share one fetch) stays
  // on, its default. It is safe here: the propagated headers above (the user's Authorization,
  // the request id) are part of the deduplication key, so two users' requests never share a
  // response. Benchmarks must vary their variables instead (docs/pitfalls.md #7).

  cors,
  // Apollo's CSRF rule: a request must be preflighted (non-simple content type) or carry one of
  // these headers, so a cross-site form or <img> cannot run an operation with a user's cookies.
  csrfPrevention: { requestHeaders: ['x-apollo-operation-name', 'apollo-require-preflight', 'x-graphql-csrf'] },

  // Development: the explorer at /graphql (self-contained HTML, works offline) and introspection.
  graphiql: production ? false : { title: 'Healthcare supergraph' },
  landingPage: !production,
  ...(production
    ? {
        disableIntrospection: { disableIf: () => true },
      }
    : {}),
  // Production: no suggestion in execution errors either (validation's: no-suggestions.ts).
  maskedErrors: {
    maskError: production ? (error, message) => withoutSuggestion(maskError(error, message)) : maskError,
  },

  // Hostile documents are refused here before any subgraph is asked (depth and aliases: in
  // `plugins`); the subgraphs check the same limits (and root fields) themselves, so they hold
  // without this router.
  maxTokens: positive('ROUTER_MAX_TOKENS', 5_000),
  // Demand control (docs/router.md): every subgraph request of the plan is estimated from the
  // supergraph's @cost/@listSize (objects 1, scalars 0, a list times its `limit` or assumed size)
  // and refused, before it is sent, once the operation's total passes the maximum. The subgraphs
  // count the same way (GRAPHQL_MAX_COST). No cost in `extensions` of answers, in any environment.
  demandControl: { maxCost: positive('ROUTER_MAX_COST', 10_000), includeExtensionMetadata: false },

  healthCheckEndpoint: '/health', // the process is up
  // `/ready`: the supergraph is loaded and every subgraph has been ready (subgraph-readiness.ts);
  // Hive Gateway's own check (the supergraph alone) moves to `/ready/supergraph`.
  readinessCheckEndpoint: '/ready/supergraph',
  plugins: () => [
    useBodyLimit(maxBodyBytes),
    useMaxDepth(maxDepth),
    useMaxAliases(maxAliases),
    // Production refuses introspection at validation; development answers it beside other fields.
    ...(production ? [useNoSuggestions()] : [useIntrospectionBesideFields()]),
    useSubgraphReadiness({
      endpoint: '/ready',
      supergraphEndpoint: '/ready/supergraph',
      supergraphPath: supergraphPath,
      timeoutMs: 2_000,
    }),
  ],
  prometheus: {
    endpoint: '/metrics',
    metrics: {
      // No per-fetch latency histograms: they cost up to 8% of the whole stack's CPU per operation
      // (docs/performance.md), and each subgraph's own `/metrics` times its requests already.
      // Failures per subgraph stay: they are what the router alone can see.
      graphql_gateway_fetch_duration: false,
      graphql_gateway_subgraph_execute_duration: false,
      graphql_gateway_subgraph_execute_errors: true,
      graphql_envelop_phase_parse: true,
      graphql_envelop_phase_validate: true,
      graphql_envelop_phase_execute: true,
      graphql_envelop_request_duration: true,
      graphql_envelop_error_result: true,
    },
  },
  logging: (env.LOG_LEVEL?.toLowerCase() as 'debug' | 'info' | 'warn' | 'error' | undefined) || 'info',
});

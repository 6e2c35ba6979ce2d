// The router's `/ready`: the supergraph is loaded and every subgraph has been ready.
//
// Hive Gateway's own readiness check says only that the supergraph is loaded; a router that
// takes traffic before its subgraphs can answer gives every client errors during a rollout. So
// `/ready` here answers 503 until each subgraph named in the supergraph has answered its own
// `/ready` with 200, then stays 200 for that subgraph: a subgraph that fails later costs only its
// own fields (partial data, `SUBREQUEST_HTTP_ERROR`), and taking the whole router out of service
// for it would turn a partial outage into a full one.
import { readFileSync } from 'node:fs';
import type { GatewayPlugin } from '@graphql-hive/gateway';

export interface SubgraphReadinessOptions {
  /** Where clients ask. */
  endpoint: string;
  /** Hive Gateway's own check (the supergraph is loaded), asked on the same server. */
  supergraphEndpoint: string;
  supergraphPath: string;
  /** Per subgraph `/ready` request. */
  timeoutMs: number;
}

/** Each subgraph's name and `/graphql` URL, from the supergraph's `join__Graph` enum. */
export function subgraphUrls(supergraphSdl: string): Map<string, string> {
  const urls = new Map<string, string>();
  for (const match of supergraphSdl.matchAll(/@join__graph\(\s*name:\s*"([^"]+)"\s*,?\s*url:\s*"([^"]+)"\s*\)/g)) {
    urls.set(match[1], match[2]);
  }
  return urls;
}

export function useSubgraphReadiness(options: SubgraphReadinessOptions): GatewayPlugin {
  const seenReady = new Set<string>(); // `${name} ${url}`: a moved subgraph is checked again

  async function subgraphReady(url: string): Promise<boolean> {
    try {
      const response = await fetch(new URL('/ready', url), { signal: AbortSignal.timeout(options.timeoutMs) });
      await response.body?.cancel();
      return response.status === 200;
    } catch {
      return false;
    }
  }

  async function waitingFor(): Promise<string[]> {
    let sdl: string;
    try {
      sdl = readFileSync(options.supergraphPath, 'utf8');
    } catch {
      return ['supergraph'];
    }
    const urls = subgraphUrls(sdl);
    if (urls.size === 0) return ['supergraph'];
    const unchecked = [...urls].filter(([name, url]) => !seenReady.has(`${name} ${url}`));
    const results = await Promise.all(unchecked.map(([, url]) => subgraphReady(url)));
    const waiting: string[] = [];
    unchecked.forEach(([name, url], index) => {
      if (results[index]) seenReady.add(`${name} ${url}`);
      else waiting.push(name);
    });
    return waiting.sort();
  }

  return {
    onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname !== options.endpoint) return;
      return (async () => {
        const waiting = await waitingFor();
        if (waiting.length === 0) {
          // The supergraph itself: Hive Gateway's check, on this server.
          const supergraph = await fetchAPI
            .fetch(new URL(options.supergraphEndpoint, url), { signal: AbortSignal.timeout(options.timeoutMs) })
            .then((response) => response.status === 200)
            .catch(() => false);
          if (!supergraph) waiting.push('supergraph');
        }
        const body = waiting.length === 0 ? { status: 'ready' } : { status: 'waiting', waitingFor: waiting };
        endResponse(
          new fetchAPI.Response(JSON.stringify(body), {
            status: waiting.length === 0 ? 200 : 503,
            headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
          }),
        );
      })();
    },
  };
}

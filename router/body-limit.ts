// At most N bytes of request body, refused with 413 before anything reads the body as JSON: the
// same limit, under the same name (MAX_BODY_BYTES), as every subgraph's (subgraphs/kit/middleware.py),
// so the router never forwards what a subgraph would refuse. A declared Content-Length is enough
// to decide (the HTTP parser reads exactly that many bytes); a body without one (chunked) is read
// here, counting, and refused as soon as it passes the limit.
import type { GatewayPlugin } from '@graphql-hive/gateway';

type FetchAPI = { Response: typeof Response; Request: typeof Request };

/** A GraphQL-shaped answer, so a client reads the code where it reads every other one. */
function tooLarge(fetchAPI: FetchAPI, maxBytes: number): Response {
  const body = {
    errors: [
      {
        message: `The request body is too large: at most ${maxBytes} bytes are accepted.`,
        extensions: { code: 'PAYLOAD_TOO_LARGE' },
      },
    ],
  };
  return new fetchAPI.Response(JSON.stringify(body), {
    status: 413,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
}

/** The whole body, or null as soon as it is longer than `maxBytes` (the rest is never read). */
async function readAtMost(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array | null> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > maxBytes) {
      reader.releaseLock();
      return null;
    }
    chunks.push(value);
  }
  const whole = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    whole.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return whole;
}

export function useBodyLimit(maxBytes: number): GatewayPlugin {
  return {
    onRequest({ request, setRequest, endResponse, fetchAPI }) {
      if (!request.body) return undefined;
      const declared = request.headers.get('content-length');
      if (declared !== null && request.headers.get('content-encoding') === null) {
        if (!/^\d+$/.test(declared) || Number(declared) > maxBytes) endResponse(tooLarge(fetchAPI, maxBytes));
        return undefined;
      }
      return readAtMost(request.body, maxBytes).then((body) => {
        if (body === null) {
          endResponse(tooLarge(fetchAPI, maxBytes));
          return;
        }
        // The same request with the body already read; the signal keeps the request deadline.
        setRequest(
          new fetchAPI.Request(request.url, {
            method: request.method,
            headers: request.headers,
            body,
            signal: request.signal,
          }),
        );
      });
    },
  };
}

// No "Did you mean ...?" in any error a client gets: graphql-js appends one to unknown fields,
// arguments, types, directives' arguments, input fields and enum values (in the document or in
// the variables), and each names a part of the schema a stranger could not otherwise see while
// introspection is off. Hive Gateway's `blockFieldSuggestions` rewrites only the quoted-name form
// ("Did you mean "id"?"), not "Did you mean the enum value ...?" nor "Did you mean to use an inline
// fragment on ...?", and only at validation. Used in production; the subgraphs cut the same
// sentence themselves (subgraphs/kit/graphql.py).
import type { GatewayPlugin } from '@graphql-hive/gateway';

// GraphQL names cannot hold "?", so a suggestion ends at the first one.
const SUGGESTION = /\s*Did you mean\b[^?]*\?/g;

/** `error` without its suggestion, changed in place as graphql-armor does: it keeps its
 * locations, path and extensions. */
export function withoutSuggestion<T extends Error>(error: T): T {
  const message = error.message.replace(SUGGESTION, '');
  if (message !== error.message) error.message = message;
  return error;
}

/** Validation errors; those of execution (variables the schema cannot coerce) go through the
 * gateway's `maskError`, which calls `withoutSuggestion` itself. */
export function useNoSuggestions(): GatewayPlugin {
  return {
    onValidate() {
      return ({ valid, result, setResult }) => {
        if (!valid) setResult(result.map(withoutSuggestion));
      };
    },
  };
}

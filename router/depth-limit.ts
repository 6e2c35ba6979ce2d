// At most N levels of depth in an operation, counted the way every subgraph counts them
// (Strawberry's QueryDepthLimiter, subgraphs/kit/graphql_limits.py), so a document the subgraphs
// answer is never refused here and the other way round:
//   - a field with a selection set is one level; a leaf field adds none (`{ me { id } }` is 1);
//   - fragments are flattened: a spread or an inline fragment adds no level of its own;
//   - introspection fields (`__schema`, `__type`, `__typename`) are not counted, with all they
//     select, so the standard introspection query that tools send is admitted.
// Hive Gateway's own `maxDepth` (graphql-armor) counts every fragment spread as extra levels and
// leaves included, which refused documents the subgraphs answer.
import type { GatewayPlugin } from '@graphql-hive/gateway';
import {
  GraphQLError,
  Kind,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

/** The depth of a selection set; each fragment's depth is worked out once (`memo`), so a document
 * of fragments spreading fragments costs time in its size, not in the number of paths through it. */
function selectionDepth(
  selectionSet: SelectionSetNode,
  fragment: (name: string) => FragmentDefinitionNode | null | undefined,
  memo: Map<string, number>,
): number {
  let depth = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value.startsWith('__') || !selection.selectionSet) continue;
      depth = Math.max(depth, 1 + selectionDepth(selection.selectionSet, fragment, memo));
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      depth = Math.max(depth, selectionDepth(selection.selectionSet, fragment, memo));
    } else {
      const name = selection.name.value;
      if (!memo.has(name)) {
        memo.set(name, 0); // a cycle counts 0 here: graphql's NoFragmentCycles rule reports it
        const definition = fragment(name);
        memo.set(name, definition ? selectionDepth(definition.selectionSet, fragment, memo) : 0);
      }
      depth = Math.max(depth, memo.get(name)!);
    }
  }
  return depth;
}

export function maxDepthRule(maxDepth: number): ValidationRule {
  // Named: Yoga's validation cache is keyed by the names of the rules.
  return function MaxDepth(context: ValidationContext) {
    const memo = new Map<string, number>(); // fragment depths do not depend on the operation
    return {
      OperationDefinition(node) {
        const depth = selectionDepth(node.selectionSet, (name) => context.getFragment(name), memo);
        if (depth > maxDepth) {
          context.reportError(
            new GraphQLError(`Operation has depth ${depth}; at most ${maxDepth} is allowed.`, { nodes: [node] }),
          );
        }
      },
    };
  };
}

export function useMaxDepth(maxDepth: number): GatewayPlugin {
  const rule = maxDepthRule(maxDepth); // made once, added to every validation
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(rule);
    },
  };
}

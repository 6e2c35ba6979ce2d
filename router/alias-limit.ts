// At most N aliases in an operation, the fields of its fragments included, checked by the router
// before any subgraph is asked. Hive Gateway has depth and token limits built in but none for
// aliases; the subgraphs check the same limit themselves (subgraphs/kit/graphql_limits.py).
import type { GatewayPlugin } from '@graphql-hive/gateway';
import {
  GraphQLError,
  Kind,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

/** Aliases in a selection set; each fragment's count is worked out once (`memo`), so a document of
 * fragments spreading fragments costs time in its size, not in the number of paths through it. */
function countAliases(
  selectionSet: SelectionSetNode,
  fragment: (name: string) => FragmentDefinitionNode | null | undefined,
  memo: Map<string, number>,
): number {
  let count = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.alias) count += 1;
      if (selection.selectionSet) count += countAliases(selection.selectionSet, fragment, memo);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      count += countAliases(selection.selectionSet, fragment, memo);
    } else {
      // Each spread counts (a fragment spread twice repeats its aliases).
      const name = selection.name.value;
      if (!memo.has(name)) {
        memo.set(name, 0); // a cycle counts 0 here: graphql's NoFragmentCycles rule reports it
        const definition = fragment(name);
        memo.set(name, definition ? countAliases(definition.selectionSet, fragment, memo) : 0);
      }
      count += memo.get(name)!;
    }
  }
  return count;
}

export function maxAliasesRule(maxAliases: number): ValidationRule {
  // Named: Yoga's validation cache is keyed by the names of the rules.
  return function MaxAliases(context: ValidationContext) {
    return {
      OperationDefinition(node) {
        const count = countAliases(node.selectionSet, (name) => context.getFragment(name), new Map());
        if (count > maxAliases) {
          context.reportError(
            new GraphQLError(`Operation has ${count} aliases; at most ${maxAliases} are allowed.`, { nodes: [node] }),
          );
        }
      },
    };
  };
}

export function useMaxAliases(maxAliases: number): GatewayPlugin {
  const rule = maxAliasesRule(maxAliases); // made once, added to every validation
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(rule);
    },
  };
}

// Introspection beside other root fields (`{ __schema { queryType { name } } doctors { id } }`).
// Hive Router's runtime sends a query with `__schema` or `__type` among its root fields to the local
// executor alone, which resolves no subgraph field (they come back null, or fail when non-null),
// and a query whose introspection sits in a root fragment to the planner, which fails on it
// ("Unexpected error."). Here such a query is cut in two: the introspection fields run locally
// against the schema clients validate against, everything else through the planner, and the two
// answers are merged in the order of the document. Introspection is refused at validation in
// production, so this only ever serves development.
import type { GatewayPlugin } from '@graphql-hive/gateway';
import {
  execute,
  getOperationAST,
  Kind,
  visit,
  type DocumentNode,
  type ExecutionResult,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';

const INTROSPECTION_ROOT_FIELDS = new Set(['__schema', '__type']);

type Fragments = Map<string, FragmentDefinitionNode>;

/** The part of a root selection set that is (`introspection`) or is not (`!introspection`) made of
 * `__schema`/`__type` fields; root fragments become inline fragments holding their part. */
function rootPart(selectionSet: SelectionSetNode, fragments: Fragments, introspection: boolean): SelectionSetNode {
  const selections: SelectionNode[] = [];
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (INTROSPECTION_ROOT_FIELDS.has(selection.name.value) === introspection) selections.push(selection);
      continue;
    }
    const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments.get(selection.name.value);
    if (!fragment) continue;
    const part = rootPart(fragment.selectionSet, fragments, introspection);
    if (part.selections.length === 0) continue;
    selections.push({
      kind: Kind.INLINE_FRAGMENT,
      typeCondition: fragment.typeCondition,
      directives: selection.directives,
      selectionSet: part,
    });
  }
  return { kind: Kind.SELECTION_SET, selections };
}

function hasIntrospection(selectionSet: SelectionSetNode, fragments: Fragments, seen = new Set<string>()): boolean {
  return selectionSet.selections.some((selection) => {
    if (selection.kind === Kind.FIELD) return INTROSPECTION_ROOT_FIELDS.has(selection.name.value);
    if (selection.kind === Kind.INLINE_FRAGMENT) return hasIntrospection(selection.selectionSet, fragments, seen);
    if (seen.has(selection.name.value)) return false;
    seen.add(selection.name.value);
    const fragment = fragments.get(selection.name.value);
    return fragment ? hasIntrospection(fragment.selectionSet, fragments, seen) : false;
  });
}

/** `operation` with `selectionSet` at its root, and only the fragments that are still spread. */
function documentWith(
  operation: OperationDefinitionNode,
  selectionSet: SelectionSetNode,
  fragments: Fragments,
): DocumentNode {
  const root: OperationDefinitionNode = { ...operation, selectionSet };
  const used = new Set<string>();
  const pending: Array<OperationDefinitionNode | FragmentDefinitionNode> = [root];
  while (pending.length > 0) {
    visit(pending.pop()!, {
      FragmentSpread(spread) {
        const name = spread.name.value;
        const fragment = fragments.get(name);
        if (!used.has(name) && fragment) {
          used.add(name);
          pending.push(fragment);
        }
      },
    });
  }
  return { kind: Kind.DOCUMENT, definitions: [root, ...[...used].map((name) => fragments.get(name)!)] };
}

/** The response keys of the root fields, in the order the document asks for them. */
function responseKeys(
  selectionSet: SelectionSetNode,
  fragments: Fragments,
  keys: string[] = [],
  seen = new Set<string>(),
): string[] {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      const key = selection.alias?.value ?? selection.name.value;
      if (!keys.includes(key)) keys.push(key);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      responseKeys(selection.selectionSet, fragments, keys, seen);
    } else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = fragments.get(selection.name.value);
      if (fragment) responseKeys(fragment.selectionSet, fragments, keys, seen);
    }
  }
  return keys;
}

function merge(keys: string[], local: ExecutionResult, planned: ExecutionResult): ExecutionResult {
  const errors = [...(local.errors ?? []), ...(planned.errors ?? [])];
  let data: Record<string, unknown> | null = null; // a failed non-null root field nulls it all
  if (local.data && planned.data) {
    const answers: Record<string, unknown> = { ...local.data, ...planned.data };
    data = {};
    for (const key of keys) if (key in answers) data[key] = answers[key];
  }
  return {
    data,
    ...(errors.length > 0 ? { errors } : {}),
    ...(planned.extensions ? { extensions: planned.extensions } : {}),
  };
}

export function useIntrospectionBesideFields(): GatewayPlugin {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (!operation || operation.operation !== 'query') return;
      const fragments: Fragments = new Map();
      for (const definition of args.document.definitions) {
        if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
      }
      if (!hasIntrospection(operation.selectionSet, fragments)) return;
      const planned = rootPart(operation.selectionSet, fragments, false);
      const introspection = rootPart(operation.selectionSet, fragments, true);
      const onlyIntrospection = planned.selections.length === 0;
      const keys = responseKeys(operation.selectionSet, fragments);
      setExecuteFn(async (executeArgs) => {
        const local = (await execute({
          ...executeArgs,
          document: documentWith(operation, introspection, fragments),
          operationName: operation.name?.value,
        })) as ExecutionResult;
        if (onlyIntrospection) return local;
        const rest = (await executeFn({
          ...executeArgs,
          document: documentWith(operation, planned, fragments),
          operationName: operation.name?.value,
        })) as ExecutionResult;
        return merge(keys, local, rest);
      });
    },
  };
}

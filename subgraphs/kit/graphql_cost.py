"""The static cost of a GraphQL operation, refused above a maximum before any resolver runs.

Depth alone does not bound an answer: `Appointment.doctor` and `Doctor.appointments` lead back to
each other, so depth 15 holds seven lists, and each list multiplies what is under it. The cost
model is federation 2.9's `@cost` and `@listSize` (the IBM GraphQL cost specification, as the
Apollo Router and Hive Gateway's demand control count it), so a document costs the same here as
at the router:

- a field returning an object, interface or union costs 1, a scalar or enum 0; a type's `@cost`
  weight replaces that, and a field's own `@cost` weight is added;
- a list multiplies its own cost and everything selected under it by its size: the value of its
  `@listSize` slicing argument (`limit`), else its `assumedSize`; `_entities` by the number of
  representations, which only the variables tell (so the estimate runs with them, per request);
- fields are merged as execution merges them (one response key, one type: resolved once, whatever
  fragments they came from); `@skip` and `@include` are not evaluated (an upper bound);
  introspection costs nothing;
- a mutation has no base cost: Hive Gateway 2.15.1's "mutations cost 10" never applies (it looks
  for the operation type in a node only schema definitions have), and both layers must agree.

Where the two counts differ (docs/router.md), a subgraph counts what can really come back, and
each layer holds alone:
- a `limit` counts at most `MAX_LIMIT`, as every list resolver caps its page (`PageParams.of`);
  the router counts the number as written;
- `limit: null` counts the assumed size (the resolver's default page); the router counts 1;
- `_entities` counts its representations; the router cannot know them when it estimates and
  counts 1, so a list that multiplies across subgraphs is bounded here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_introspection_type,
    value_from_ast_untyped,
)
from graphql.pyutils import Undefined
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension
from strawberry.federation.schema_directives import Cost, ListSize

from .errors import AppError
from .pagination import DEFAULT_LIMIT, MAX_LIMIT

DEFAULT_MAX_COST = 10_000

# A list field paged by `limit` (kit/pagination.py): as long as `limit` asks, else one default page.
# `limit` is optional, so a document without it is not refused for lacking a slicing argument.
# (The arguments left out stay UNSET, out of the SDL: `directive_field` defaults them at run time, but
# strawberry's dataclass_transform declares no default, so mypy takes them for required.)
PAGED_LIST = ListSize(  # type: ignore[call-arg]
    slicing_arguments=["limit"], assumed_size=DEFAULT_LIMIT, require_one_slicing_argument=False
)


def fixed_list(at_most: int) -> ListSize:
    """A list field without paging whose length the service bounds itself."""
    return ListSize(assumed_size=at_most)  # type: ignore[call-arg]  # see PAGED_LIST


class CostTooHigh(AppError):
    status = 400
    code = "COST_ESTIMATED_TOO_EXPENSIVE"
    title = "Operation too expensive"

    def __init__(self, estimated: int, maximum: int) -> None:
        # Hive Gateway's words and `extensions` shape, so a client sees one answer from either layer.
        super().__init__(
            f"Operation estimated cost {estimated} exceeded configured maximum {maximum}",
            cost={"estimated": estimated, "max": maximum},
        )


Variables = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _Term:
    """A field whose cost needs the variables (its list size, or one under it):
    `size x (weight + constant + sum(terms))`."""

    size: int | Callable[[Variables], int]
    weight: int
    constant: int
    terms: tuple[_Term, ...]


@dataclass(frozen=True, slots=True)
class _Cost:
    """A selection's cost: what the document alone fixes, plus the terms that need the variables."""

    constant: int = 0
    terms: tuple[_Term, ...] = ()

    def __add__(self, other: _Cost) -> _Cost:
        return _Cost(self.constant + other.constant, self.terms + other.terms)

    def evaluate(self, variables: Variables) -> int:
        return self.constant + sum(_evaluate(term, variables) for term in self.terms)


def _evaluate(term: _Term, variables: Variables) -> int:
    size = term.size if isinstance(term.size, int) else term.size(variables)
    return size * (term.weight + term.constant + sum(_evaluate(below, variables) for below in term.terms))


_ENTITIES = object()  # `_entities`: as many as the router sent representations


class OperationCost:
    """Estimates operations against one schema; what does not depend on the variables is worked
    out once per document text (the router sends the same few shapes again and again)."""

    def __init__(self, *, max_list_size: int = MAX_LIMIT, cache_size: int = 256) -> None:
        self.max_list_size = max_list_size
        self.cache_size = cache_size
        self._plans: OrderedDict[tuple[str, str | None], _Cost] = OrderedDict()
        self._fields: dict[tuple[str, str], tuple[int, ListSize | object | None]] = {}
        self._schema: GraphQLSchema | None = None

    def estimate(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: Variables | None = None,
        operation_name: str | None = None,
        *,
        text: str | None = None,
    ) -> int:
        if schema is not self._schema:  # lookups are by type and field name: one schema's only
            self._schema, self._fields = schema, {}
            self._plans.clear()
        if text is None:  # no text to cache the plan by
            return self._plan(schema, document, operation_name).evaluate(variables or {})
        key = (text, operation_name)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plan(schema, document, operation_name)
            self._plans[key] = plan
            if len(self._plans) > self.cache_size:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(key)
        return plan.evaluate(variables or {})

    # --- the plan of one document ----------------------------------------------------------

    def _plan(self, schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> _Cost:
        operation = get_operation_ast(document, operation_name)
        root = schema.get_root_type(operation.operation) if operation else None
        if operation is None or root is None:
            return _Cost()  # execution refuses it with its own error
        fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        return _Planner(self, schema, operation, fragments).selection([operation.selection_set], root)

    def field_rule(self, parent: GraphQLNamedType, name: str, field: GraphQLField) -> tuple[int, Any]:
        """A field's own cost and how its list is sized (None: not a list)."""
        key = (parent.name, name)
        if key not in self._fields:
            self._fields[key] = (self._weight(field), self._list_rule(parent, name, field))
        return self._fields[key]

    def _weight(self, field: GraphQLField) -> int:
        named = get_named_type(field.type)
        if is_introspection_type(named):
            return 0
        type_costs = _directives(named, Cost)
        weight = sum(cost.weight for cost in type_costs) if type_costs else int(is_composite_type(named))
        return weight + sum(cost.weight for cost in _directives(field, Cost))

    def _list_rule(self, parent: GraphQLNamedType, name: str, field: GraphQLField) -> Any:
        if name == "_entities" and self._schema is not None and parent is self._schema.query_type:
            return _ENTITIES
        sizes = _directives(field, ListSize)
        if sizes:
            return sizes[0]
        if isinstance(get_nullable_type(field.type), GraphQLList):
            return fixed_list(DEFAULT_LIMIT)  # unannotated (tests/kit holds every list to one)
        return None

    def clamp(self, value: Any, assumed: int) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return max(1, min(value, self.max_list_size))
        return assumed  # null, or not a number (execution refuses that)


class _Planner:
    def __init__(
        self,
        costs: OperationCost,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
    ) -> None:
        self.costs = costs
        self.schema = schema
        self.fragments = fragments
        self.variable_defaults = {
            definition.variable.name.value: value_from_ast_untyped(definition.default_value)
            for definition in operation.variable_definitions or ()
            if definition.default_value is not None
        }

    def selection(self, selection_sets: list[SelectionSetNode], parent: GraphQLNamedType) -> _Cost:
        """The cost of fields as execution runs them: those with one response key on one type are
        merged, whichever fragments they came from, and resolved once."""
        fields: dict[tuple[str, str], tuple[GraphQLNamedType, list[FieldNode]]] = {}
        spread: set[str] = set()
        for selection_set in selection_sets:
            self.collect(selection_set, parent, fields, spread)
        total = _Cost()
        for owner, nodes in fields.values():
            total += self.field(nodes, owner)
        return total

    def collect(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLNamedType,
        fields: dict[tuple[str, str], tuple[GraphQLNamedType, list[FieldNode]]],
        spread: set[str],
    ) -> None:
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                key = (parent.name, node.alias.value if node.alias else node.name.value)
                fields.setdefault(key, (parent, []))[1].append(node)
            elif isinstance(node, InlineFragmentNode):
                # Validation has refused unknown type conditions: every name is in the type map.
                condition = self.schema.type_map[node.type_condition.name.value] if node.type_condition else parent
                self.collect(node.selection_set, condition, fields, spread)
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in spread:
                spread.add(node.name.value)  # as graphql-core collects fields: a fragment once per selection
                definition = self.fragments[node.name.value]  # validation: it exists, no cycle
                self.collect(
                    definition.selection_set, self.schema.type_map[definition.type_condition.name.value], fields, spread
                )

    def field(self, nodes: list[FieldNode], parent: GraphQLNamedType) -> _Cost:
        name = nodes[0].name.value
        if name.startswith("__") or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return _Cost()  # __typename, introspection: nothing to fetch
        field = parent.fields[name]
        weight, rule = self.costs.field_rule(parent, name, field)
        below = self.selection([node.selection_set for node in nodes if node.selection_set], get_named_type(field.type))
        size = self.size(rule, nodes[0], field)  # merged fields have the same arguments (validation)
        if isinstance(size, int) and not below.terms:
            return _Cost(size * (weight + below.constant))
        return _Cost(0, (_Term(size, weight, below.constant, below.terms),))

    def size(self, rule: Any, node: FieldNode, field: GraphQLField) -> int | Callable[[Variables], int]:
        if rule is None:
            return 1
        arguments = {argument.name.value: argument.value for argument in node.arguments or ()}
        if rule is _ENTITIES:
            return self.count(arguments.get("representations"))
        assumed = rule.assumed_size if rule.assumed_size is not None else DEFAULT_LIMIT
        sources = []
        for name in rule.slicing_arguments or ():
            definition = field.args.get(name)
            default = definition.default_value if definition is not None else Undefined
            sources.append(self.argument_value(arguments.get(name), default))
        if not sources:
            return assumed
        if all(not callable(source) for source in sources):
            return self.largest(sources, assumed)
        return lambda variables: self.largest(
            [source(variables) if callable(source) else source for source in sources], assumed
        )

    def largest(self, values: list[Any], assumed: int) -> int:
        given = [value for value in values if value is not Undefined and value is not None]
        if not given:
            return assumed
        return max(self.costs.clamp(value, assumed) for value in given)

    def argument_value(self, value: ValueNode | None, default: Any) -> Any:
        """The argument as execution will see it: a literal now, a variable's value later."""
        if value is None:
            return default
        if isinstance(value, VariableNode):
            name = value.name.value
            fallback = self.variable_defaults.get(name, default)
            return lambda variables: variables.get(name, fallback)
        if isinstance(value, NullValueNode):
            return None
        if isinstance(value, IntValueNode):
            return int(value.value)
        return Undefined  # not an Int: validation has refused it already

    def count(self, value: ValueNode | None) -> int | Callable[[Variables], int]:
        if isinstance(value, ListValueNode):
            return len(value.values)
        if isinstance(value, VariableNode):
            name = value.name.value
            return lambda variables: _length(variables.get(name, self.variable_defaults.get(name)))
        return 1 if value is not None else 0


def _length(value: Any) -> int:
    if value is None:
        return 0
    return len(value) if isinstance(value, list) else 1  # one representation is a list of one


_NAMES = {Cost: "cost", ListSize: "listSize"}


def _directives(element: Any, kind: type[Cost] | type[ListSize]) -> list:
    """`element`'s @cost or @listSize: from its Strawberry definition (a subgraph), or from its SDL
    (a schema built from printed SDL, such as the composed supergraph)."""
    definition = (getattr(element, "extensions", None) or {}).get("strawberry-definition")
    if definition is not None:
        return [directive for directive in getattr(definition, "directives", None) or () if isinstance(directive, kind)]
    node = getattr(element, "ast_node", None)
    return [
        kind(
            **{
                _python_name(argument.name.value): value_from_ast_untyped(argument.value)
                for argument in usage.arguments
            }
        )
        for usage in getattr(node, "directives", None) or ()
        if usage.name.value == _NAMES[kind]
    ]


def _python_name(name: str) -> str:
    return "".join(f"_{letter.lower()}" if letter.isupper() else letter for letter in name)


class CostLimit(SchemaExtension):
    """Refuses an operation whose estimated cost is over `max_cost`, after validation and before
    execution: the variables are known (`_entities` is sized by them), no resolver has run. Cached
    documents (kit/graphql.py) are still estimated on every request."""

    def __init__(self, max_cost: int, costs: OperationCost) -> None:
        self.max_cost = max_cost
        self.costs = costs

    @classmethod
    def factory(cls, max_cost: int) -> partial[CostLimit]:
        # One estimator (and its plan cache) per schema; each request gets its own extension.
        return partial(cls, max_cost, OperationCost())

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.result is None:
            estimated = self.costs.estimate(
                context.schema._schema,
                context.graphql_document,
                context.variables,
                context.operation_name,
                text=context.query,
            )
            if estimated > self.max_cost:
                refusal = CostTooHigh(estimated, self.max_cost)
                context.result = ExecutionResult(
                    data=None, errors=[GraphQLError(refusal.detail, original_error=refusal)]
                )
        yield

"""Limits every subgraph puts on a GraphQL document before running it.

The Apollo Router's own operation limits need a licence, so each subgraph
holds alone: depth, aliases (fragments included), tokens, root fields, the
estimated cost (kit/graphql_cost.py), and introspection off in production.
Batched operations are refused by Strawberry unless batching is enabled, which
it is not. The defaults admit the router's `_entities` fetches and the README's
operations; introspection fields (`__schema`, `__type`) are not counted towards
depth, so tools' introspection queries pass whatever their nesting.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, MaxTokensLimiter
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

from .graphql_cost import DEFAULT_MAX_COST, CostLimit


@dataclass(frozen=True)
class GraphQLLimits:
    max_depth: int = 15
    max_aliases: int = 30
    max_tokens: int = 5_000
    max_root_fields: int = 20
    max_cost: int = DEFAULT_MAX_COST
    introspection: bool = True

    def extensions(self) -> list:
        # Factories, not instances: Strawberry makes each request its own extension objects, so
        # concurrent requests never share one's per-request state (strawberry#4369). The rule
        # classes are made once, here: the validation cache is keyed by them, and a class made per
        # request (as QueryDepthLimiter and MaxAliasesLimiter do) would miss it every time.
        rules: list[type[ASTValidationRule]] = [
            depth_rule(self.max_depth, should_ignore=None),
            alias_rule(self.max_aliases),
            root_field_limit(self.max_root_fields),
        ]
        if not self.introspection:
            # `_service { sdl }` stays available to the router (it is not introspection).
            rules.append(NoSchemaIntrospectionCustomRule)
        return [
            partial(MaxTokensLimiter, self.max_tokens),
            partial(AddValidationRules, rules),
            CostLimit.factory(self.max_cost),
        ]


def root_field_limit(limit: int) -> type[ValidationRule]:
    class RootFieldLimit(ValidationRule):
        """At most `limit` fields at the top of an operation (fragments expanded)."""

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args) -> None:
            count = _count_root_fields(node.selection_set, self.context, set())
            if count > limit:
                self.report_error(
                    GraphQLError(f"Operation has {count} root fields; at most {limit} are allowed.", node)
                )

    return RootFieldLimit


def _count_root_fields(selection_set: SelectionSetNode, context: ValidationContext, seen: set[str]) -> int:
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            count += selection.name.value != "__typename"
        elif isinstance(selection, InlineFragmentNode):
            count += _count_root_fields(selection.selection_set, context, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)  # a fragment cycle is reported by graphql's own rules
            fragment = context.get_fragment(selection.name.value)
            if fragment is not None:
                count += _count_root_fields(fragment.selection_set, context, seen)
    return count

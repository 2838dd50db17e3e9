"""Fields without arguments or extensions are resolved without Strawberry's per-call
glue (schema.direct_resolvers); every other field keeps Strawberry's resolver."""

from __future__ import annotations

from schema.builder import build_full_schema


def _module(schema, type_name: str, field: str) -> str:
    resolve = schema._schema.type_map[type_name].fields[field].resolve
    return str(resolve.__module__)


def test_plain_fields_resolve_directly_and_fields_with_arguments_do_not():
    schema = build_full_schema()
    for type_name, field in (
        ("Invoice", "total"),  # money(): a resolver taking the root
        ("Invoice", "id"),
        ("Invoice", "number"),  # no resolver: the attribute
        ("Invoice", "client"),  # async, with info
        ("Invoice", "paidState"),  # a method taking self and the parent
    ):
        assert _module(schema, type_name, field) == "schema.direct_resolvers", field
    for type_name, field in (
        ("Dashboard", "openInvoices"),  # arguments: Strawberry converts them
        ("Query", "invoices"),  # root operation types are left alone
    ):
        assert _module(schema, type_name, field) != "schema.direct_resolvers", field

# mypy: disable-error-code="union-attr,attr-defined,no-any-return,unreachable,call-overload,misc"
# graphql-core types its schema objects as wide unions; this test walks them dynamically.
"""The generated policy matrix: for every standard profile, the schema served over HTTP
holds exactly the fields the policy table allows, and each hidden field fails validation
as an unknown field does, with no suggestion; and no path through a profile's schema
reaches a type the profile may not read (``auth.policy.TYPE_READS``).

The expectation is computed here from ``auth.policy.POLICY`` and the ``@requires`` /
``@public`` directives read off the full schema's SDL, independently of the builder.
"""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLUnionType,
    StringValueNode,
    parse,
)
from graphql.language import (
    EnumValueNode,
    InterfaceTypeDefinitionNode,
    ObjectTypeDefinitionNode,
)
from sqlmodel import select

from auth.policy import (
    PARTNER_SCOPES,
    POLICY,
    SELF_FIELDS,
    TYPE_READS,
    Permission,
    TypeRead,
    type_read,
)
from auth.profiles import STANDARD_PROFILES, Profile, ProfileKind
from models.accounts import Account
from models.clients import Contact
from models.enums import AutoBill, ContactRole, Module, RecurringStatus, StaffRole
from models.recurring import RecurringInvoice
from schema.builder import build_full_schema
from schema.registry import build_profile_schema
from services.api_tokens import create_api_token
from services.portal.sessions import start_contact_session

FULL = build_full_schema()
ROOTS = {"Query", "Mutation", "Subscription"}

INTROSPECT = """
{ __schema {
    queryType { name } mutationType { name }
    types { name kind fields { name } possibleTypes { name } }
} }
"""


@dataclass(frozen=True)
class Rule:
    permission: Permission | None
    module: Module | None
    public: bool


def _rules() -> dict[tuple[str, str], Rule]:
    rules = {}
    for definition in parse(FULL.as_str()).definitions:
        if not isinstance(definition, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode):
            continue
        for field in definition.fields or ():
            permission = module = None
            public = False
            for directive in field.directives or ():
                if directive.name.value == "public":
                    public = True
                if directive.name.value == "requires":
                    for argument in directive.arguments or ():
                        assert isinstance(argument.value, EnumValueNode | StringValueNode)
                        if argument.name.value == "permission":
                            permission = Permission(argument.value.value)
                        if argument.name.value == "module":
                            module = Module(argument.value.value)
            rules[(definition.name.value, field.name.value)] = Rule(permission, module, public)
    return rules


RULES = _rules()

# What each standard profile is, spelled out again for the expectation.
PROFILE_FACTS: dict[str, dict[str, object]] = {
    "anonymous": {"kind": "anonymous"},
    **{f"staff-{r.value.lower()}": {"kind": "staff", "role": r} for r in StaffRole},
    **{f"contact-{r.value.lower()}": {"kind": "contact", "role": r} for r in ContactRole},
    "contact-billing-readonly": {"kind": "contact", "role": ContactRole.BILLING, "ro": True},
    "contact-billing-recurring-only": {
        "kind": "contact",
        "role": ContactRole.BILLING,
        "modules": {Module.RECURRING_INVOICES},
    },
    "partner-invoices": {"kind": "partner", "scopes": {"invoices:read", "events:subscribe"}},
    "partner-all": {"kind": "partner", "scopes": set(STANDARD_PROFILES["partner-all"].scopes)},
}


# Partner tokens of one scope each: the paths a single scope opens are walked too.
SCOPE_FACTS: dict[str, dict[str, object]] = {
    f"partner-{scope}": {"kind": "partner", "scopes": {scope}} for scope in sorted(PARTNER_SCOPES)
}
FACTS = {**PROFILE_FACTS, **SCOPE_FACTS}


def may(facts: dict[str, object], permission: Permission | None, module: Module | None) -> bool:
    """Whether a caller with ``facts`` may use what needs ``permission`` and ``module``."""
    kind = facts["kind"]
    if kind == "anonymous":
        return permission is None and module is None
    modules = facts.get("modules", set(Module))
    if permission is not None:
        grant = POLICY[permission]
        if kind == "staff" and facts["role"] not in grant.staff:
            return False
        if kind == "contact" and facts["role"] not in grant.contacts:
            return False
        if kind == "partner" and not (grant.scopes & facts["scopes"]):  # type: ignore[operator]
            return False
    if kind == "staff":
        return True
    if module is not None:
        return module in modules  # type: ignore[operator]
    if kind == "contact" and permission is not None:
        return Module.CLIENT_PORTAL in modules  # type: ignore[operator]
    return True


def expected_visible(profile: str, type_name: str, rule: Rule) -> bool:
    facts = FACTS[profile]
    if type_name in ROOTS and facts["kind"] == "anonymous":
        return rule.public
    if type_name == "Mutation" and facts.get("ro"):
        return False
    return may(facts, rule.permission, rule.module)


def _named(gql_type):
    while isinstance(gql_type, GraphQLNonNull | GraphQLList):
        gql_type = gql_type.of_type
    return gql_type


ABSTRACT = (GraphQLUnionType, GraphQLInterfaceType)


def _members(schema, gql_type) -> list[GraphQLObjectType]:
    """The object types behind a union or an interface (``viewer``'s ``Viewer``)."""
    if isinstance(gql_type, GraphQLUnionType):
        return list(gql_type.types)
    return list(schema.get_possible_types(gql_type))


def expected_schema(profile: str) -> dict[str, set[str]]:
    """Object type -> visible fields, for the types reachable through visible fields."""
    full = FULL._schema
    roots = [full.query_type]
    if full.mutation_type and not PROFILE_FACTS[profile].get("ro"):
        roots.append(full.mutation_type)
    if full.subscription_type:
        roots.append(full.subscription_type)
    result: dict[str, set[str]] = {}
    queue = deque(roots)
    while queue:
        gql_type = queue.popleft()
        if isinstance(gql_type, ABSTRACT):
            queue.extend(t for t in _members(full, gql_type) if t.name not in result)
            continue
        if not isinstance(gql_type, GraphQLObjectType) or gql_type.name in result:
            continue
        visible = {
            name
            for name in gql_type.fields
            if expected_visible(profile, gql_type.name, RULES[(gql_type.name, name)])
        }
        result[gql_type.name] = visible
        for name in visible:
            queue.append(_named(gql_type.fields[name].type))
    return {name: fields for name, fields in result.items() if fields}


async def token_for(profile: str, tenant, runtime, gql) -> str | None:
    facts = PROFILE_FACTS[profile]
    if facts["kind"] == "anonymous":
        return None
    if facts["kind"] == "staff":
        return tenant.tokens[facts["role"]]
    admin = tenant.principals[StaffRole.ADMIN]
    async with runtime.sessions() as session:
        if facts["kind"] == "partner":
            _row, token = await create_api_token(
                session=session, actor=admin, name=profile, scopes=sorted(facts["scopes"])
            )
            await session.commit()
            return token
    client = (
        await gql.data(
            "mutation($i: ClientInput!) { createClient(input: $i) { id contacts { id } } }",
            {
                "i": {
                    "name": "Matrix",
                    "contacts": [{"email": "c@matrix.test", "role": facts["role"].value}],
                }
            },
            token=tenant.admin,
        )
    )["createClient"]
    contact_id = client["contacts"][0]["id"]
    if facts.get("ro"):
        data = await gql.data(
            "mutation($c: ID!) { viewAsContact(contactId: $c) { token } }",
            {"c": contact_id},
            token=tenant.admin,
        )
        return data["viewAsContact"]["token"]
    async with runtime.sessions() as session:
        if "modules" in facts:
            account = await session.get(Account, tenant.account_id)
            account.enabled_modules = [m.value for m in Module if m is not Module.CLIENT_PORTAL]
            session.add(
                RecurringInvoice(
                    account_id=tenant.account_id,
                    client_id=uuid.UUID(client["id"]),
                    status=RecurringStatus.ACTIVE,
                    currency="USD",
                    start_date=account.created_at.date(),
                    auto_bill=AutoBill.ALWAYS,
                )
            )
        contact = (
            await session.exec(select(Contact).where(Contact.id == uuid.UUID(contact_id)))
        ).one()
        token = await start_contact_session(
            session=session, signer=runtime.signer, contact=contact, ttl=runtime.session_ttl
        )
        await session.commit()
    return token


def _placeholder(arg_type) -> str | None:
    named = _named(arg_type)
    if isinstance(named, GraphQLInputObjectType):
        return None
    if isinstance(named, GraphQLEnumType):
        value = next(iter(named.values))
    else:
        value = {"Int": "1", "Boolean": "true", "Float": "1.0"}.get(named.name, '"x"')
    return value


def _selection(field_name: str, field) -> str | None:
    """``name(required args)`` with placeholder values; None when an input object is needed."""
    args = []
    for arg_name, arg in field.args.items():
        if isinstance(arg.type, GraphQLNonNull):
            value = _placeholder(arg.type)
            if value is None:
                return None
            args.append(f"{arg_name}: {value}")
    return field_name + (f"({', '.join(args)})" if args else "")


def query_for_hidden(
    type_name: str, hidden: str, served: dict[str, set[str]], ro: bool
) -> str | None:
    """A document that reaches ``type_name`` through served fields and asks for ``hidden``."""
    full = FULL._schema
    roots = [("query", full.query_type)]
    if full.mutation_type and not ro and "Mutation" in served:
        roots.append(("mutation", full.mutation_type))
    for operation, root in roots:
        if root.name == type_name:
            return f"{operation} {{ {hidden} }}"
    queue = deque([(full.query_type, "{}")])
    seen = {full.query_type.name}
    while queue:
        gql_type, template = queue.popleft()
        for name in sorted(served.get(gql_type.name, ())):
            field = gql_type.fields[name]
            selection = _selection(name, field)
            target = _named(field.type)
            if selection is None or not isinstance(target, (GraphQLObjectType, *ABSTRACT)):
                continue
            members = _members(full, target) if isinstance(target, ABSTRACT) else [target]
            for member in members:
                if member.name not in served or member.name in seen:
                    continue
                inner = (
                    f"{selection} {{ ... on {member.name} {{ {{}} }} }}"
                    if isinstance(target, ABSTRACT)
                    else f"{selection} {{ {{}} }}"
                )
                path = template.replace("{}", inner, 1)
                if member.name == type_name:
                    return "query { " + path.replace("{}", hidden, 1) + " }"
                seen.add(member.name)
                queue.append((member, path))
    return None


@pytest.mark.parametrize("profile", list(STANDARD_PROFILES))
async def test_each_profile_sees_exactly_what_the_policy_allows(
    profile, gql, tenant, runtime, backend
):
    if backend.name == "postgres":
        pytest.skip("the schema does not depend on the database; checked once on SQLite")
    # given a caller with this profile
    token = await token_for(profile, tenant, runtime, gql)
    # when it introspects over HTTP
    schema = (await gql.data(INTROSPECT, token=token))["__schema"]
    served = {
        t["name"]: {f["name"] for f in t["fields"]}
        for t in schema["types"]
        if t["kind"] == "OBJECT" and not t["name"].startswith("__")
    }
    # then its object types and their fields are exactly those the policy allows
    expected = expected_schema(profile)
    assert served == expected
    ro = bool(PROFILE_FACTS[profile].get("ro"))
    assert (schema["mutationType"] is None) == (ro or "Mutation" not in expected)
    # and every hidden field of a served type fails validation like an unknown field
    checked = 0
    for type_name, fields in served.items():
        for hidden in sorted(set(FULL._schema.type_map[type_name].fields) - fields):
            document = query_for_hidden(type_name, hidden, served, ro)
            if document is None:
                continue
            body = await gql(document, token=token)
            messages = [e["message"] for e in body["errors"]]
            assert f"Cannot query field '{hidden}' on type '{type_name}'." in messages, document
            assert all("Did you mean" not in m for m in messages)
            assert {e["extensions"]["code"] for e in body["errors"]} <= {
                "GRAPHQL_VALIDATION_FAILED"
            }
            checked += 1
    hidden_count = sum(
        len(set(FULL._schema.type_map[name].fields) - fields) for name, fields in served.items()
    )
    assert checked >= hidden_count * 0.8, (checked, hidden_count)


# --- nested paths: every path to a type needs what reading the type needs ------------


def _profile(name: str) -> Profile:
    if name in STANDARD_PROFILES:
        return STANDARD_PROFILES[name]
    return Profile(ProfileKind.PARTNER, scopes=frozenset(SCOPE_FACTS[name]["scopes"]))


def _needs(read: TypeRead) -> str:
    return "+".join(str(part) for part in (read.permission, read.module) if part) or "nothing"


def path_leaks(name: str) -> list[str]:
    """Walk the schema ``name`` is served from its roots, and name every field that the
    profile may not use: its own ``@requires`` is not satisfied, it leads to a type whose
    read the profile does not hold, or it lies outside the reference of a type the
    profile may only follow to (``TYPE_READS``)."""
    facts = FACTS[name]
    served = build_profile_schema(_profile(name))._schema
    roots = [t for t in (served.query_type, served.mutation_type) if t is not None]
    paths = {root.name: root.name for root in roots}
    queue = deque(roots)
    leaks: list[str] = []
    while queue:
        gql_type = queue.popleft()
        read = type_read(gql_type.name) or TypeRead()  # the roots: each field says itself
        for field_name, field in gql_type.fields.items():
            here = f"{paths[gql_type.name]}.{field_name}"
            if not expected_visible(name, gql_type.name, RULES[(gql_type.name, field_name)]):
                leaks.append(f"{here}: its own @requires is not held")
            outside = read.reference and field_name not in read.reference
            if outside and not may(facts, read.permission, read.module):
                leaks.append(f"{here}: outside {gql_type.name}'s reference, needs {_needs(read)}")
            target = _named(field.type)
            if not isinstance(target, (GraphQLObjectType, *ABSTRACT)):
                continue
            members = _members(served, target) if isinstance(target, ABSTRACT) else [target]
            for member in members:
                member_read = type_read(member.name)
                assert member_read is not None, f"{member.name} is not in auth.policy.TYPE_READS"
                open_edge = (gql_type.name, field_name) in SELF_FIELDS or member_read.reference
                if not open_edge and not may(facts, member_read.permission, member_read.module):
                    leaks.append(f"{here} -> {member.name}: reading it needs {_needs(member_read)}")
                if member.name not in paths:
                    paths[member.name] = f"{here}{{{member.name}}}"
                    queue.append(member)
    return leaks


def test_every_object_type_says_what_reading_it_requires():
    # given every object type of the full schema (a connection or edge reads like its node)
    types = {
        name
        for name, gql_type in FULL._schema.type_map.items()
        if isinstance(gql_type, GraphQLObjectType)
        and not name.startswith("__")
        and name not in ROOTS
    }
    # then each has a rule in auth.policy, and the table names no type that is gone
    assert {name for name in types if type_read(name) is None} == set()
    assert set(TYPE_READS) <= types
    for name, read in TYPE_READS.items():
        assert read.reference <= set(FULL._schema.type_map[name].fields), name


@pytest.mark.parametrize("profile", list(FACTS))
def test_no_path_reaches_a_type_the_profile_may_not_read(profile):
    # given the schema this profile is served, walked from its roots
    # then every reachable field is one the profile holds the permissions for: the field's
    # own @requires, and what reading the type it leads to requires
    assert path_leaks(profile) == []


async def test_a_hidden_root_field_answers_like_a_field_that_never_existed(gql, tenant):
    # given a staff MEMBER, who holds no money permission
    token = tenant.tokens[StaffRole.MEMBER]
    # when it asks for invoices, and for a field that exists nowhere
    hidden = await gql("{ invoices { totalCount } }", token=token)
    unknown = await gql("{ invoicez { totalCount } }", token=token)
    # then both answers have the same shape and code, and neither hints at a name
    assert hidden["errors"][0]["message"] == "Cannot query field 'invoices' on type 'Query'."
    assert unknown["errors"][0]["message"] == "Cannot query field 'invoicez' on type 'Query'."
    assert hidden["errors"][0]["extensions"] == unknown["errors"][0]["extensions"]


async def test_read_only_view_has_no_mutations(gql, tenant, runtime):
    token = await token_for("contact-billing-readonly", tenant, runtime, gql)
    body = await gql("mutation { signOut }", token=token)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_no_error_suggests_names(gql, tenant):
    """Unknown types, arguments and enum values get no "Did you mean" hint either."""
    documents = [
        "query($s: ProjectStatu) { viewer { __typename } }",
        "{ invoices(firs: 1) { totalCount } }",
        "{ invoices(status: [PAI]) { totalCount } }",
    ]
    for document in documents:
        body = await gql(document, token=tenant.admin)
        assert body["errors"], body
        for error in body["errors"]:
            assert "Did you mean" not in error["message"], error

"""One pruned schema per profile, built on first use and cached.

Strawberry has no per-request field hiding, so each profile gets its own
:class:`ProfileSchema` whose ``get_fields`` keeps only the fields the profile may use.
Types left unreachable drop out of the built schema; resolvers stay shared and execution
carries no per-field permission check. A request picks its schema by its principal's
profile (:class:`SchemaRouter`).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

from auth.principals import Principal
from auth.profiles import Profile, profile_for
from schema.builder import CONFIG, PorticoSchema, schema_arguments
from schema.directives import Public, Requires
from schema.limits import QueryLimits

if TYPE_CHECKING:
    from services.config import Settings

ROOT_TYPE_NAMES = frozenset({"Query", "Mutation", "Subscription"})


def field_visible(profile: Profile, field: StrawberryField, *, root: bool) -> bool:
    """Whether ``field`` exists for ``profile``.

    Root fields need ``@public`` for anonymous callers; other fields with no
    ``@requires`` are visible to every caller that reaches their type.
    """
    requires = [d for d in field.directives if isinstance(d, Requires)]
    public = any(isinstance(d, Public) for d in field.directives)
    if root and not profile.authenticated:
        return public
    return all(profile.allows(rule.permission or None, rule.module or None) for rule in requires)


class ProfileSchema(PorticoSchema):
    """The schema as one profile sees it."""

    def __init__(self, profile: Profile, **kwargs: Any) -> None:
        self.profile = profile
        super().__init__(**kwargs)

    def get_fields(self, type_definition: StrawberryObjectDefinition) -> list[StrawberryField]:
        root = type_definition.name in ROOT_TYPE_NAMES
        return [
            field
            for field in type_definition.fields
            if field_visible(self.profile, field, root=root)
        ]


SHARED_BUILDS = 128
_built: OrderedDict[tuple[Profile, str, bool], ProfileSchema] = OrderedDict()


def build_profile_schema(
    profile: Profile, limits: QueryLimits | None = None, *, compiled_execution: bool = True
) -> ProfileSchema:
    """The profile's schema, built once per process for the same ``limits``.

    A schema is a pure function of its arguments and holds no state of the app or runtime
    that asked for it, so every :class:`SchemaRegistry` of the process (the app's, the
    webhook renderer's, each test's) shares one build: building one costs ~0.1 s. The
    limits are keyed by their ``repr`` (their cost model holds a mapping, unhashable)."""
    key = (profile, repr(limits or QueryLimits()), compiled_execution)
    schema = _built.get(key)
    if schema is None:
        schema = _build(profile, limits, compiled_execution=compiled_execution)
        _built[key] = schema
        while len(_built) > SHARED_BUILDS:
            _built.popitem(last=False)
    else:
        _built.move_to_end(key)
    return schema


def _build(
    profile: Profile, limits: QueryLimits | None, *, compiled_execution: bool
) -> ProfileSchema:
    arguments = schema_arguments(limits, compiled_execution=compiled_execution)
    if profile.read_only:
        arguments["mutation"] = None
    if not profile.authenticated:
        arguments["types"] = []  # no viewer: the types behind one stay out of its schema
    if not _any_field_visible(profile, arguments["subscription"]):
        arguments["subscription"] = None  # a root type may not be empty
    return ProfileSchema(profile, config=CONFIG, **arguments)


def _any_field_visible(profile: Profile, root: type) -> bool:
    definition: StrawberryObjectDefinition = root.__strawberry_definition__  # type: ignore[attr-defined]
    return any(field_visible(profile, field, root=True) for field in definition.fields)


class SchemaRegistry:
    """A bounded LRU cache of profile schemas, all enforcing the same query ``limits``
    (and all executing queries from plans, or none: ``compiled_execution``)."""

    def __init__(
        self,
        max_size: int = 256,
        limits: QueryLimits | None = None,
        *,
        compiled_execution: bool = True,
    ) -> None:
        self.max_size = max_size
        self.limits = limits or QueryLimits()
        self.compiled_execution = compiled_execution
        self._schemas: OrderedDict[Profile, ProfileSchema] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: Settings) -> SchemaRegistry:
        return cls(
            settings.schema_cache_size,
            QueryLimits.from_settings(settings),
            compiled_execution=settings.compiled_execution,
        )

    def for_profile(self, profile: Profile) -> ProfileSchema:
        schema = self._schemas.get(profile)
        if schema is None:
            schema = build_profile_schema(
                profile, self.limits, compiled_execution=self.compiled_execution
            )
            self._schemas[profile] = schema
            while len(self._schemas) > self.max_size:
                self._schemas.popitem(last=False)
        else:
            self._schemas.move_to_end(profile)
        return schema

    def for_principal(self, principal: Principal) -> ProfileSchema:
        return self.for_profile(profile_for(principal))

    def __len__(self) -> int:
        return len(self._schemas)


class SchemaRouter:
    """Stands where Strawberry's view expects one schema, and hands each operation to
    the schema of the caller's profile (read from the request context)."""

    config = CONFIG

    def __init__(self, registry: SchemaRegistry) -> None:
        self.registry = registry

    def _schema(self, kwargs: dict[str, Any]) -> ProfileSchema:
        return self.registry.for_principal(kwargs["context_value"].principal)

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        return await self._schema(kwargs).execute(*args, **kwargs)

    async def subscribe(self, *args: Any, **kwargs: Any) -> Any:
        return await self._schema(kwargs).subscribe(*args, **kwargs)

    async def stream(self, *args: Any, **kwargs: Any) -> Any:
        return await self._schema(kwargs).stream(*args, **kwargs)

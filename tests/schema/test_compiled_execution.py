"""The compiled execution path (schema/compiled_execution.py) answers exactly what
graphql-core's own execution answers: the same data, the same errors (message, path,
locations, extensions) with null propagation to the nearest nullable parent, the same
DataLoader batches, for aliases, fragments, variable-driven ``@skip``/``@include``,
abstract types, arguments and lists of lists. Each document runs on two schemas alike
but for their executor; the compiled one runs it three times (the first through
graphql-core, the next ones from the plan built for a document that comes again) and
every answer must equal the reference."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated, Any

import pytest
import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import ExecutionResult

from schema import compiled_execution
from schema.compiled_execution import CompiledExecutor
from schema.direct_resolvers import batched, install
from schema.event_execution import SharedEventExecutor
from schema.parse_cache import ParsedDocuments
from services.errors import PorticoError
from services.futures import then

AGES = {"ada": 36, "alan": 41, "grace": None, "linus": 12}
FRIENDS = {"ada": ["alan", "grace"], "alan": ["ada"], "grace": [], "linus": ["ada", "alan"]}


class Refused(PorticoError):
    code = "FORBIDDEN"


@dataclass
class Context:
    batches: list[list[str]] = field(default_factory=list)
    loader: DataLoader[str, Person | None] = field(init=False)

    def __post_init__(self) -> None:
        async def load(names: list[str]) -> list[Person | None]:
            self.batches.append(list(names))
            await asyncio.sleep(0)
            return [Person(name=name) if name in AGES else None for name in names]

        self.loader = DataLoader(load_fn=load)


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Person(Named):
    name: str

    @strawberry.field
    def age(self) -> int | None:
        return AGES.get(self.name)

    @strawberry.field
    async def friends(self, info: strawberry.Info[Context, None]) -> list[Person | None]:
        loaded = await info.context.loader.load_many(FRIENDS.get(self.name, []))
        return list(loaded)

    @strawberry.field
    async def best_friend(self, info: strawberry.Info[Context, None]) -> Person | None:
        names = FRIENDS.get(self.name, [])
        return await info.context.loader.load(names[0]) if names else None

    @strawberry.field
    def best_friend_soon(self, info: strawberry.Info[Context, None]) -> Person | None:
        """A DataLoader's future, returned as it is (services.futures): no task."""
        names = FRIENDS.get(self.name, [])
        if not names:
            return None
        return then(info.context.loader.load(names[0]), lambda done: done.result())  # type: ignore[return-value]

    @strawberry.field
    def required_friend_soon(self, info: strawberry.Info[Context, None]) -> Person:
        names = FRIENDS.get(self.name, []) or ["nobody"]
        return then(info.context.loader.load(names[0]), _found)  # type: ignore[return-value]

    @strawberry.field
    def grid(self) -> list[list[int | None]]:
        return [[1, None], [], [3]]

    @strawberry.field
    def strict_grid(self) -> list[list[int]] | None:
        return [[1], [2, None]]  # type: ignore[list-item]

    @strawberry.field
    def boom(self) -> str | None:
        raise ValueError(f"boom for {self.name}")

    @strawberry.field
    def required_boom(self) -> str:
        raise Refused("refused")

    @strawberry.field
    def missing(self) -> str:
        return None  # type: ignore[return-value]

    @strawberry.field
    def bad_int(self) -> int:
        return "many"  # type: ignore[return-value]

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        return self.name.upper()

    @strawberry.field
    async def later_boom(self) -> int:
        await asyncio.sleep(0)
        raise ValueError("later")

    @strawberry.field
    def greeting(
        self, punctuation: str = "!", times: int = 1, words: list[str] | None = None
    ) -> str:
        return " ".join([f"hi {self.name}{punctuation}", *(words or [])] * times)


@strawberry.type
class Pet(Named):
    name: str
    owner_name: strawberry.Private[str]

    @strawberry.field
    async def owner(self, info: strawberry.Info[Context, None]) -> Person:
        person = await info.context.loader.load(self.owner_name)
        assert person is not None
        return person


@strawberry.type
class Member:
    """A person again, with no interface (so no ``is_type_of``): a list of members is
    completed by the compiled path's object loop, where batched fields apply."""

    name: str

    @strawberry.field
    async def friends(self, info: strawberry.Info[Context, None]) -> list[Member]:
        loaded = await info.context.loader.load_many(FRIENDS.get(self.name, []))
        return [Member(name=person.name) for person in loaded if person is not None]

    @strawberry.field
    @batched(lambda info, people: _first_friends(info, people, required=False))
    def best_friend_batched(self, info: strawberry.Info[Context, None]) -> Member | None:
        """Batched (schema.direct_resolvers.batched): the compiled path asks for the
        first friends of a whole list of people at once."""
        names = FRIENDS.get(self.name, [])
        if not names:
            return None
        return then(info.context.loader.load(names[0]), _member)  # type: ignore[return-value]

    @strawberry.field
    @batched(lambda info, people: _first_friends(info, people, required=True))
    def required_friend_batched(self, info: strawberry.Info[Context, None]) -> Member:
        names = FRIENDS.get(self.name, []) or ["nobody"]
        return then(info.context.loader.load(names[0]), lambda done: Member(name=_found(done).name))  # type: ignore[return-value]

    @strawberry.field
    @batched(lambda _info, people: _raise(ValueError("no batch today")))
    def failing_batched(self) -> str | None:
        raise ValueError("no batch today")

    @strawberry.field
    @batched(lambda _info, people: [person.name.title() for person in people])
    def title_batched(self) -> str:
        return self.name.title()


def _member(done: asyncio.Future[Person | None]) -> Member | None:
    person = done.result()
    return None if person is None else Member(name=person.name)


def _first_friends(info: Any, people: list[Member], *, required: bool) -> Any:
    """The people's first friends, loaded together; as their resolvers answer each."""
    firsts = [FRIENDS.get(person.name, []) for person in people]
    wanted = [names[0] if names else "nobody" for names in firsts]
    loaded = info.context.loader.load_many(
        [name for name in wanted if required or name != "nobody"]
    )

    def answer(done: asyncio.Future[list[Person | None]]) -> list[Any]:
        found = iter(done.result())
        answers: list[Any] = []
        for name in wanted:
            if required:
                person = next(found)
                answers.append(
                    Member(name=person.name)
                    if person is not None
                    else Refused("nobody to be found")
                )
            elif name == "nobody":
                answers.append(None)
            else:
                friend = next(found)
                answers.append(None if friend is None else Member(name=friend.name))
        return answers

    return then(loaded, answer)


def _raise(error: Exception) -> Any:
    raise error


def _found(done: asyncio.Future[Person | None]) -> Person:
    person = done.result()
    if person is None:
        raise Refused("nobody to be found")
    return person


Found = Annotated[Person | Pet, strawberry.union("Found")]


@strawberry.type
class Query:
    @strawberry.field
    def people(self) -> list[Person]:
        return [Person(name=name) for name in AGES]

    @strawberry.field
    def person(self, name: str) -> Person | None:
        return Person(name=name) if name in AGES else None

    @strawberry.field
    def required_person(self) -> Person:
        return Person(name="ada")

    @strawberry.field
    def found(self) -> list[Found]:
        return [Person(name="ada"), Pet(name="rex", owner_name="alan")]

    @strawberry.field
    def named(self) -> list[Named]:
        return [Pet(name="tom", owner_name="grace"), Person(name="linus")]

    @strawberry.field
    def members(self) -> list[Member]:
        return [Member(name=name) for name in AGES]

    @strawberry.field
    def member(self, name: str) -> Member | None:
        return Member(name=name) if name in AGES else None

    @strawberry.field
    def not_a_list(self) -> list[int] | None:
        return 3  # type: ignore[return-value]


class _Schema(strawberry.Schema):
    def __init__(self, executor: type[Any]) -> None:
        super().__init__(
            query=Query,
            types=[Person, Pet, Member],
            extensions=[ParsedDocuments],
            execution_context_class=executor,
        )
        install(self._schema, self.schema_converter)


REFERENCE = _Schema(SharedEventExecutor)
COMPILED = _Schema(CompiledExecutor)


@dataclass
class Answer:
    data: Any
    errors: list[Any] | None
    batches: list[list[str]]


async def _run(schema: strawberry.Schema, query: str, variables: dict[str, Any] | None) -> Answer:
    context = Context()
    result: ExecutionResult = await schema.execute(
        query, variable_values=variables, context_value=context
    )
    errors = None if result.errors is None else [error.formatted for error in result.errors]
    return Answer(result.data, errors, context.batches)


async def both(query: str, variables: dict[str, Any] | None = None) -> Answer:
    """The reference answer, after checking the compiled path answers the same (its
    first run through graphql-core, the next ones from the plan)."""
    reference = await _run(REFERENCE, query, variables)
    before = compiled_execution.runs
    first = await _run(COMPILED, query, variables)
    second = await _run(COMPILED, query, variables)
    third = await _run(COMPILED, query, variables)
    assert compiled_execution.runs >= before + 2, "the plan was not used"
    assert first == reference
    assert second == reference
    assert third == reference
    return reference


async def test_fields_aliases_fragments_and_typename() -> None:
    answer = await both(
        """
        query People {
          everyone: people { ...who a: age __typename }
          people { name ... on Person { age later } }
          ada: person(name: "ada") { ...who friends { name ...who } }
        }
        fragment who on Person { name who: name bestFriend { name } }
        """
    )
    assert answer.errors is None
    assert answer.data["ada"]["friends"] == [
        {"name": "alan", "who": "alan", "bestFriend": {"name": "ada"}},
        {"name": "grace", "who": "grace", "bestFriend": None},
    ]
    assert answer.data["people"][0] == {"name": "ada", "age": 36, "later": "ADA"}


async def test_dataloader_batches_are_the_same() -> None:
    answer = await both(
        "{ people { name bestFriend { name bestFriend { name } } friends { age } } }"
    )
    assert answer.errors is None
    # Every key of the first level in one batch (the second level's are cached by then).
    assert answer.batches == [["alan", "grace", "ada"]]


async def test_resolvers_that_return_futures_batch_and_answer_the_same() -> None:
    answer = await both(
        "{ people { name later bestFriendSoon { name bestFriendSoon { name } age } } }"
    )
    assert answer.errors is None
    assert answer.batches == [["alan", "ada"]]  # grace is nobody's first friend
    assert answer.data["people"][0]["bestFriendSoon"] == {
        "name": "alan",
        "bestFriendSoon": {"name": "ada"},
        "age": 41,
    }


async def test_a_futures_error_nulls_the_nearest_nullable_parent() -> None:
    answer = await both(
        """{
          lonely: person(name: "grace") { name later requiredFriendSoon { name } }
          friendly: person(name: "ada") { requiredFriendSoon { name } }
          everyone: people { name requiredFriendSoon { name } }
        }"""
    )
    assert answer.data is None  # people is non-null all the way up: the root goes
    assert answer.errors is not None
    assert [error["path"] for error in answer.errors] == [
        ["lonely", "requiredFriendSoon"],
        ["everyone", 2, "requiredFriendSoon"],  # grace: the one with nobody
    ]
    partial = await both(
        """{
          lonely: person(name: "grace") { name later requiredFriendSoon { name } }
          friendly: person(name: "ada") { requiredFriendSoon { name } }
        }"""
    )
    assert partial.data == {"lonely": None, "friendly": {"requiredFriendSoon": {"name": "alan"}}}
    assert partial.errors is not None
    assert [error["path"] for error in partial.errors] == [["lonely", "requiredFriendSoon"]]
    assert partial.errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_resolver_errors_null_the_nearest_nullable_parent() -> None:
    answer = await both(
        """
        {
          people { name boom }
          person(name: "alan") { name requiredBoom }
          third: person(name: "linus") { name missing }
          again: person(name: "ada") { badInt }
          late: person(name: "grace") { later laterBoom }
        }
        """
    )
    assert answer.data["people"][0] == {"name": "ada", "boom": None}
    assert answer.data["person"] is None
    assert answer.data["again"] is None
    assert answer.data["late"] is None
    assert answer.errors is not None
    messages = {tuple(error["path"]): error["message"] for error in answer.errors}
    assert messages[("people", 0, "boom")] == "boom for ada"
    assert messages[("person", "requiredBoom")] == "refused"
    assert answer.data["third"] is None
    assert messages[("third", "missing")] == (
        "Cannot return null for non-nullable field Person.missing."
    )
    assert ("late", "laterBoom") in messages


async def test_a_non_null_root_field_nulls_the_whole_answer() -> None:
    answer = await both("{ people { name } requiredPerson { requiredBoom } }")
    assert answer.data is None
    assert answer.errors is not None
    assert answer.errors[0]["path"] == ["requiredPerson", "requiredBoom"]
    assert answer.errors[0]["locations"] == [{"line": 1, "column": 36}]


async def test_batched_fields_answer_and_batch_the_same() -> None:
    before = compiled_execution.batched_lists
    answer = await both(
        "{ members { name titleBatched bestFriendBatched { name bestFriendBatched { name } } } }"
    )
    assert compiled_execution.batched_lists > before, "the lists were not batched"
    assert answer.errors is None
    assert answer.batches == [["alan", "ada"]]
    assert answer.data["members"][0] == {
        "name": "ada",
        "titleBatched": "Ada",
        "bestFriendBatched": {"name": "alan", "bestFriendBatched": {"name": "ada"}},
    }
    assert answer.data["members"][2]["bestFriendBatched"] is None  # grace has no friends


async def test_a_batched_fields_errors_are_each_objects_own() -> None:
    before = compiled_execution.batched_lists
    failing = await both("{ members { name failingBatched } }")
    assert compiled_execution.batched_lists > before
    assert failing.errors is not None
    assert [error["path"] for error in failing.errors] == [
        ["members", index, "failingBatched"] for index in range(4)
    ]
    assert failing.data == {"members": [{"name": name, "failingBatched": None} for name in AGES]}
    required = await both(
        '{ member(name: "ada") { friends { name requiredFriendBatched { name } } } }'
    )
    # grace (ada's second friend) has nobody: her non-null field nulls her, and null
    # goes up through the non-null item and the non-null list to the nullable member
    assert required.errors is not None
    assert [error["path"] for error in required.errors] == [
        ["member", "friends", 1, "requiredFriendBatched"]
    ]
    assert required.data == {"member": None}


async def test_lists_of_lists() -> None:
    answer = await both('{ person(name: "ada") { grid strictGrid } notAList }')
    assert answer.data["person"] == {"grid": [[1, None], [], [3]], "strictGrid": None}
    assert answer.data["notAList"] is None
    assert answer.errors is not None
    paths = [error["path"] for error in answer.errors]
    assert ["person", "strictGrid", 1, 1] in paths
    assert ["notAList"] in paths


@pytest.mark.parametrize(
    "variables",
    [
        {"withAge": True, "skipFriends": False},
        {"withAge": False, "skipFriends": True},
        {"withAge": True, "skipFriends": True},
        {"withAge": False, "skipFriends": False},
    ],
)
async def test_skip_and_include_follow_the_variables(variables: dict[str, bool]) -> None:
    query = """
    query ($withAge: Boolean!, $skipFriends: Boolean!) {
      people {
        name
        age @include(if: $withAge)
        ... on Person @skip(if: $skipFriends) { friends { name } }
        ...extra
      }
    }
    fragment extra on Person { later @include(if: $withAge) age @skip(if: true) }
    """
    answer = await both(query, variables)
    first = answer.data["people"][0]
    assert ("age" in first) is variables["withAge"]
    assert ("later" in first) is variables["withAge"]
    assert ("friends" in first) is not variables["skipFriends"]


async def test_arguments_literal_and_from_variables() -> None:
    answer = await both(
        """
        query ($p: String!, $words: [String!], $name: String!) {
          person(name: $name) {
            plain: greeting
            loud: greeting(punctuation: "!!!", times: 2)
            listed: greeting(words: ["a", "b"])
            fromVariables: greeting(punctuation: $p, words: $words)
          }
        }
        """,
        {"p": "?", "words": ["x"], "name": "linus"},
    )
    assert answer.data["person"]["loud"] == "hi linus!!! hi linus!!!"
    assert answer.data["person"]["fromVariables"] == "hi linus? x"
    changed = await both(
        "query ($p: String!, $name: String!) { person(name: $name) { greeting(punctuation: $p) } }",
        {"p": ".", "name": "ada"},
    )
    assert changed.data["person"]["greeting"] == "hi ada."


async def test_unions_and_interfaces() -> None:
    answer = await both(
        """
        {
          found { __typename ... on Person { name age } ... on Pet { name owner { name } } }
          named { name __typename ... on Pet { owner { age } } }
        }
        """
    )
    assert answer.errors is None
    assert answer.data["found"][1] == {
        "__typename": "Pet",
        "name": "rex",
        "owner": {"name": "alan"},
    }
    assert answer.data["named"][0]["owner"] == {"age": None}


async def test_introspection_fields_inside_a_plan() -> None:
    answer = await both('{ __typename people { name } __type(name: "Pet") { name kind } }')
    assert answer.data["__type"] == {"name": "Pet", "kind": "OBJECT"}


async def test_variable_coercion_errors_are_graphql_cores() -> None:
    query = "query ($name: String!) { person(name: $name) { name } }"
    answer = await both(query, {"name": "ada"})
    assert answer.data == {"person": {"name": "ada"}}
    refused = await _run(COMPILED, query, {"name": 3})
    reference = await _run(REFERENCE, query, {"name": 3})
    assert refused == reference
    assert refused.errors is not None


async def test_located_errors_keep_their_extensions() -> None:
    answer = await both('{ person(name: "ada") { requiredBoom } }')
    assert answer.errors is not None
    (error,) = answer.errors
    assert error["extensions"] == {"code": "FORBIDDEN"}

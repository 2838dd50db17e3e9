"""Clients and their contacts: types, inputs, root fields."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from auth.policy import Permission
from models.clients import Client as ClientRow
from models.clients import Contact as ContactRow
from models.enums import ContactRole, Module
from resolvers import clients as resolvers
from resolvers.clients import client_of
from resolvers.context import Info
from schema.capabilities import Viewer
from schema.fields import field, id_field, mutation
from schema.pagination import Connection
from services.clients import ClientData, ClientFilter, ContactData

if TYPE_CHECKING:
    from schema.accounts import SignInPayload

strawberry.enum(ContactRole, description="A client contact's role in the portal.")

_CLIENTS_READ = Permission.CLIENTS_READ


@strawberry.type(
    description="A customer of the business. Whoever reaches a client (an invoice's, a "
    "payment's ...) reads its `id` and `name`; the rest needs CLIENTS_READ."
)
class Client:
    id: strawberry.ID = id_field()
    name: str = field("Display name.")
    company: str | None = field(
        "Company name, when the client is a person at a company.", permission=_CLIENTS_READ
    )
    email: str | None = field("Main email address.", permission=_CLIENTS_READ)
    phone: str | None = field("Phone number.", permission=_CLIENTS_READ)
    address: str | None = field("Postal address.", permission=_CLIENTS_READ)
    avatar_url: str | None = field(
        "Picture shown on the client's dashboard.", permission=_CLIENTS_READ
    )
    currency: str = field(
        "Currency new documents for this client use (ISO 4217).", permission=_CLIENTS_READ
    )
    portal_enabled: bool = field(
        "Whether this client's contacts can use the portal.", permission=Permission.INTERNAL_READ
    )
    private_notes: str | None = field(
        "Notes only staff can read.", permission=Permission.INTERNAL_READ
    )
    stripe_customer_id: str | None = field(
        "The client's customer id at Stripe.", permission=Permission.PROVIDER_IDS_READ
    )
    archived_at: datetime | None = field("When the client was archived.", permission=_CLIENTS_READ)
    created_at: datetime = field("When the client was added.", permission=_CLIENTS_READ)

    @field(
        "Whether the client is archived (its portal access has ended).",
        permission=_CLIENTS_READ,
    )
    def archived(self, root: strawberry.Parent[ClientRow]) -> bool:
        return root.archived_at is not None

    @field(
        "Modules this client's portal is narrowed to (null: the account's).",
        permission=Permission.INTERNAL_READ,
    )
    def modules(self, root: strawberry.Parent[ClientRow]) -> list[Module] | None:
        return None if root.modules is None else [Module(m) for m in root.modules]

    @field(
        "People at the client who may use the portal, primary contact first.",
        permission=_CLIENTS_READ,
    )
    async def contacts(self, info: Info, root: strawberry.Parent[ClientRow]) -> list[Contact]:
        rows: list[Any] = await resolvers.contacts_of(info, root.id)
        return sorted(rows, key=lambda row: not row.is_primary)


@strawberry.type(description="A person at a client who uses the portal.")
class Contact(Viewer):
    id: strawberry.ID = id_field()
    email: str = field("Email the contact signs in with.")
    first_name: str = field("Given name.")
    last_name: str = field("Family name.")
    phone: str | None = field("Phone number.")
    role: ContactRole = field("BILLING pays and approves, COLLABORATOR works, VIEWER reads.")
    is_primary: bool = field("The client's primary contact.")
    last_seen_at: datetime | None = field(
        "Last time the contact used the portal.", permission=Permission.INTERNAL_READ
    )

    @field("Full name.")
    def name(self, root: strawberry.Parent[ContactRow]) -> str:
        return root.display_name

    @field("The client this contact belongs to.", permission=Permission.CLIENTS_READ)
    def client(self, info: Info, root: strawberry.Parent[ContactRow]) -> Client:
        return client_of(info, root.client_id)  # type: ignore[return-value]

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, ContactRow | Contact)


@strawberry.input(description="A contact to add to a client.")
class ContactInput:
    email: str = strawberry.field(description="Unique within the account.")
    first_name: str | None = strawberry.field(default=None, description="Given name.")
    last_name: str | None = strawberry.field(default=None, description="Family name.")
    phone: str | None = strawberry.field(default=None, description="Phone number.")
    role: ContactRole = strawberry.field(default=ContactRole.VIEWER, description="Portal role.")
    is_primary: bool = strawberry.field(default=False, description="Make this the primary contact.")

    def to_data(self) -> ContactData:
        return ContactData(
            email=self.email,
            first_name=self.first_name,
            last_name=self.last_name,
            phone=self.phone,
            role=self.role,
            is_primary=self.is_primary,
        )


@strawberry.input(description="Changes to a contact; omitted fields stay as they are.")
class UpdateContactInput:
    email: str | None = strawberry.field(default=None, description="New email.")
    first_name: str | None = strawberry.field(default=None, description="Given name.")
    last_name: str | None = strawberry.field(default=None, description="Family name.")
    phone: str | None = strawberry.field(default=None, description="Phone number.")
    role: ContactRole | None = strawberry.field(default=None, description="Portal role.")
    is_primary: bool | None = strawberry.field(default=None, description="Make primary.")

    def to_data(self) -> ContactData:
        return ContactData(
            email=self.email,
            first_name=self.first_name,
            last_name=self.last_name,
            phone=self.phone,
            role=self.role,
            is_primary=self.is_primary,
        )


@strawberry.input(description="A client's fields; in an update omitted fields stay as they are.")
class ClientInput:
    name: str | None = strawberry.field(
        default=None, description="Display name (required on create)."
    )
    company: str | None = strawberry.field(default=None, description="Company name.")
    email: str | None = strawberry.field(default=None, description="Main email.")
    phone: str | None = strawberry.field(default=None, description="Phone number.")
    address: str | None = strawberry.field(default=None, description="Postal address.")
    currency: str | None = strawberry.field(default=None, description="ISO 4217 code.")
    portal_enabled: bool | None = strawberry.field(default=None, description="Portal on or off.")
    modules: list[Module] | None = strawberry.field(
        default=None, description="Narrow the account's modules for this client."
    )
    private_notes: str | None = strawberry.field(default=None, description="Staff-only notes.")
    contacts: list[ContactInput] | None = strawberry.field(
        default=None, description="Contacts to create with the client (create only)."
    )

    def to_data(self) -> ClientData:
        return ClientData(
            name=self.name,
            company=self.company,
            email=self.email,
            phone=self.phone,
            address=self.address,
            currency=self.currency,
            portal_enabled=self.portal_enabled,
            modules=self.modules,
            private_notes=self.private_notes,
        )


@strawberry.type
class ClientQuery:
    @field("Clients, newest first.", permission=Permission.CLIENTS_READ)
    async def clients(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        search: str | None = None,
        archived: bool | None = False,
        portal_enabled: bool | None = None,
    ) -> Connection[Client]:
        return await resolvers.list_clients(
            info,
            first=first,
            after=after,
            filters=ClientFilter(search=search, archived=archived, portal_enabled=portal_enabled),
        )  # type: ignore[return-value]

    @field("One client by id.", permission=Permission.CLIENTS_READ)
    async def client(self, info: Info, id: strawberry.ID) -> Client:
        return await resolvers.client(info, id)  # type: ignore[return-value]


@strawberry.type
class ClientMutation:
    @mutation("Add a client, optionally with its contacts.", permission=Permission.CLIENTS_MANAGE)
    async def create_client(self, info: Info, input: ClientInput) -> Client:
        contacts = [contact.to_data() for contact in input.contacts or []]
        return await resolvers.create_client(info, input.to_data(), contacts)  # type: ignore[return-value]

    @mutation("Change a client.", permission=Permission.CLIENTS_MANAGE)
    async def update_client(self, info: Info, id: strawberry.ID, input: ClientInput) -> Client:
        return await resolvers.update_client(info, id, input.to_data())  # type: ignore[return-value]

    @mutation(
        "Archive a client: its contacts lose portal access at once.",
        permission=Permission.CLIENTS_MANAGE,
    )
    async def archive_client(self, info: Info, id: strawberry.ID) -> Client:
        return await resolvers.archive_client(info, id)  # type: ignore[return-value]

    @mutation("Bring an archived client back.", permission=Permission.CLIENTS_MANAGE)
    async def restore_client(self, info: Info, id: strawberry.ID) -> Client:
        return await resolvers.restore_client(info, id)  # type: ignore[return-value]

    @mutation("Add a contact to a client.", permission=Permission.CLIENTS_MANAGE)
    async def create_contact(
        self, info: Info, client_id: strawberry.ID, input: ContactInput
    ) -> Contact:
        return await resolvers.create_contact(info, client_id, input.to_data())  # type: ignore[return-value]

    @mutation("Change a contact.", permission=Permission.CLIENTS_MANAGE)
    async def update_contact(
        self, info: Info, id: strawberry.ID, input: UpdateContactInput
    ) -> Contact:
        return await resolvers.update_contact(info, id, input.to_data())  # type: ignore[return-value]

    @mutation(
        "See the portal as this contact: a read-only token with the contact's profile "
        "(recorded in the activity log).",
        permission=Permission.VIEW_AS_CONTACT,
    )
    async def view_as_contact(
        self, info: Info, contact_id: strawberry.ID
    ) -> Annotated[SignInPayload, strawberry.lazy("schema.accounts")]:
        # Imported when called, not with the module: schema modules share types lazily.
        from schema.accounts import SignInPayload

        return SignInPayload(token=await resolvers.view_as_contact(info, contact_id))

    @mutation("Remove a contact; answers its id.", permission=Permission.CLIENTS_MANAGE)
    async def delete_contact(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        return strawberry.ID(await resolvers.delete_contact(info, id))

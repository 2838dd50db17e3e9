"""Documents (uploaded files): types, root fields. The storage key is never exposed."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from auth.policy import Permission
from models.documents import Document as DocumentRow
from models.enums import Module
from resolvers import documents as resolvers
from resolvers.common import parse_optional_id
from resolvers.context import Info
from resolvers.projects import optional_project
from schema.fields import field, id_field
from schema.pagination import Connection
from services.documents import DocumentFilter

if TYPE_CHECKING:
    from schema.clients import Client
    from schema.invoices import Invoice
    from schema.projects import Project
    from schema.quotes import Quote

_DOCUMENTS = Module.DOCUMENTS
_READ = Permission.DOCUMENTS_READ


@strawberry.type(description="A file shared between the business and a client.")
class Document:
    id: strawberry.ID = id_field()
    filename: str = field("The file's name.")
    content_type: str = field("The file's media type, e.g. `application/pdf`.")
    size_bytes: int = field("The file's size in bytes.")
    sha256: str = field("SHA-256 of the file's bytes (hex), to check a download.")
    visible_in_portal: bool = field(
        "Whether the client's contacts can see it.",
        permission=Permission.INTERNAL_READ,
        module=_DOCUMENTS,
    )
    created_at: datetime = field("When it was uploaded.")
    updated_at: datetime = field("Last change.")

    @field("Whether a contact of the client uploaded it.")
    def uploaded_by_client(self, root: strawberry.Parent[DocumentRow]) -> bool:
        return root.uploaded_by_contact_id is not None

    @field("The client it belongs to (null: an account-wide file).")
    async def client(
        self, info: Info, root: strawberry.Parent[DocumentRow]
    ) -> Annotated[Client, strawberry.lazy("schema.clients")] | None:
        return await resolvers.optional_client(info, root.client_id)  # type: ignore[return-value]

    @field(
        "The project it is attached to, if any.",
        permission=Permission.PROJECTS_READ,
        module=Module.PROJECTS,
    )
    async def project(
        self, info: Info, root: strawberry.Parent[DocumentRow]
    ) -> Annotated[Project, strawberry.lazy("schema.projects")] | None:
        return await optional_project(info, root.project_id)  # type: ignore[return-value]

    @field(
        "The invoice it is attached to (null: none, or not visible to the caller).",
        permission=Permission.INVOICES_READ,
        module=Module.INVOICES,
    )
    async def invoice(
        self, info: Info, root: strawberry.Parent[DocumentRow]
    ) -> Annotated[Invoice, strawberry.lazy("schema.invoices")] | None:
        return await resolvers.optional_invoice(info, root.invoice_id)  # type: ignore[return-value]

    @field(
        "The quote it is attached to (null: none, or not visible to the caller).",
        permission=Permission.QUOTES_READ,
        module=Module.QUOTES,
    )
    async def quote(
        self, info: Info, root: strawberry.Parent[DocumentRow]
    ) -> Annotated[Quote, strawberry.lazy("schema.quotes")] | None:
        return await resolvers.optional_quote(info, root.quote_id)  # type: ignore[return-value]


@strawberry.type
class DocumentQuery:
    @field("Documents, newest first.", permission=_READ, module=_DOCUMENTS)
    async def documents(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        client_id: strawberry.ID | None = None,
        project_id: strawberry.ID | None = None,
        invoice_id: strawberry.ID | None = None,
        quote_id: strawberry.ID | None = None,
        search: str | None = None,
    ) -> Connection[Document]:
        filters = DocumentFilter(
            client_id=parse_optional_id(client_id, field="clientId"),
            project_id=parse_optional_id(project_id, field="projectId"),
            invoice_id=parse_optional_id(invoice_id, field="invoiceId"),
            quote_id=parse_optional_id(quote_id, field="quoteId"),
            search=search,
        )
        return await resolvers.list_documents(  # type: ignore[return-value]
            info, first=first, after=after, filters=filters
        )

    @field("One document by id.", permission=_READ, module=_DOCUMENTS)
    async def document(self, info: Info, id: strawberry.ID) -> Document:
        return await resolvers.document(info, id)  # type: ignore[return-value]

"""Documents (uploaded files): types, root fields. The storage key is never exposed."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.file_uploads import Upload

from auth.policy import Permission
from models.documents import Document as DocumentRow
from models.enums import Module
from resolvers import documents as resolvers
from resolvers.common import parse_optional_id
from resolvers.context import Info
from resolvers.projects import optional_project
from schema.fields import field, id_field, mutation
from schema.pagination import Connection
from services.document_uploads import UpdateDocumentData, UploadDocumentData
from services.documents import DocumentFilter
from services.uploads import as_upload

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

    uploaded_by_client: bool = field(
        "Whether a contact of the client uploaded it (the client always sees its uploads)."
    )

    @field(
        "A link to download the file, valid for a few minutes (`PORTICO_DOWNLOAD_URL_TTL_"
        "SECONDS`) and only while the caller may still read the document.",
        permission=_READ,
        module=_DOCUMENTS,
    )
    def download_url(self, info: Info, root: strawberry.Parent[DocumentRow]) -> str:
        return resolvers.download_url(info, root)

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


@strawberry.input(
    description="A file to upload (GraphQL multipart request) and where it goes. The "
    "client follows from the project, invoice or quote when it is left out; with none of "
    "them, staff upload an account-wide file."
)
class UploadDocumentInput:
    file: Upload = strawberry.field(
        description="The file. Its type is read from its bytes: PDF, PNG, JPEG, GIF, WebP, "
        "DOCX, XLSX, PPTX, ZIP, or UTF-8 text (.txt, .md, .csv)."
    )
    client_id: strawberry.ID | None = strawberry.field(default=None, description="The client.")
    project_id: strawberry.ID | None = strawberry.field(
        default=None, description="A project of the client."
    )
    invoice_id: strawberry.ID | None = strawberry.field(
        default=None, description="An invoice of the client."
    )
    quote_id: strawberry.ID | None = strawberry.field(
        default=None, description="A quote of the client."
    )
    visible_in_portal: bool | None = strawberry.field(
        default=None,
        description="Staff: whether the client's contacts see it (default false). What a "
        "contact uploads is always visible to its client.",
    )
    name: str | None = strawberry.field(
        default=None, description="The file name to keep (default: the uploaded file's)."
    )

    def to_data(self) -> UploadDocumentData:
        return UploadDocumentData(
            client_id=parse_optional_id(self.client_id, field="clientId"),
            project_id=parse_optional_id(self.project_id, field="projectId"),
            invoice_id=parse_optional_id(self.invoice_id, field="invoiceId"),
            quote_id=parse_optional_id(self.quote_id, field="quoteId"),
            visible_in_portal=self.visible_in_portal,
            name=self.name,
        )


@strawberry.input(description="Changes to a document; fields left out keep their value.")
class UpdateDocumentInput:
    name: str | None = strawberry.field(default=None, description="A new file name.")
    visible_in_portal: bool | None = strawberry.field(
        default=None, description="Share it with the client's contacts, or stop sharing it."
    )

    def to_data(self) -> UpdateDocumentData:
        return UpdateDocumentData(name=self.name, visible_in_portal=self.visible_in_portal)


@strawberry.type
class DocumentMutation:
    @mutation(
        "Upload a file (GraphQL multipart request, with an `Apollo-Require-Preflight` or "
        "`X-Portico-Upload` header). Staff: anywhere in the account. Contacts: to their "
        "client, when the portal allows client uploads. The same file twice for one owner "
        "is refused with CONFLICT and `existingDocumentId`; a file above the limit with "
        "PAYLOAD_TOO_LARGE.",
        permission=Permission.COLLABORATE,
        module=_DOCUMENTS,
    )
    async def upload_document(self, info: Info, input: UploadDocumentInput) -> Document:
        upload = as_upload(input.file, field="file")  # Starlette's UploadFile
        return await resolvers.upload_document(  # type: ignore[return-value]
            info, input.to_data(), upload
        )

    @mutation(
        "Rename a document, or share or unshare it in the portal.",
        permission=Permission.DOCUMENTS_MANAGE,
        module=_DOCUMENTS,
    )
    async def update_document(
        self, info: Info, id: strawberry.ID, input: UpdateDocumentInput
    ) -> Document:
        return await resolvers.update_document(  # type: ignore[return-value]
            info, id, input.to_data()
        )

    @mutation(
        "Delete a document and its stored file; answers the deleted document's id.",
        permission=Permission.DOCUMENTS_MANAGE,
        module=_DOCUMENTS,
    )
    async def delete_document(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        return strawberry.ID(str(await resolvers.delete_document(info, id)))

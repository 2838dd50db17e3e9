"""Mail: templates with the account's branding, the outbox written in the caller's
transaction, delivery after commit over real SMTP (aiosmtpd) or printed by default."""

from __future__ import annotations

import asyncio
import importlib.resources
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import col, select
from structlog.testing import capture_logs

from models.accounts import Account
from models.enums import MailStatus
from models.mail import MailMessage
from models.types import utcnow
from services.accounts import create_account
from services.mail import Mailer, template_names
from services.runtime import Runtime
from tests.smtp_server import SmtpServer, free_port

LINK = "http://portal.test/link/abc?next=/invoices&x=1"

CONTEXTS: dict[str, dict[str, Any]] = {
    "magic_link": {"contact_name": "Ann Lee", "link": LINK, "expires_minutes": 15},
    "invite": {
        "contact_name": "Ann Lee",
        "link": LINK,
        "inviter_name": "Bob Stone",
        "expires_days": 7,
    },
    "password_reset": {"contact_name": "Ann Lee", "link": LINK, "expires_minutes": 30},
    "email_verification": {"contact_name": "Ann Lee", "link": LINK},
    "already_registered": {"contact_name": "Ann Lee", "link": LINK, "expires_minutes": 15},
    "invoice_sent": {
        "contact_name": "Ann Lee",
        "link": LINK,
        "number": "INV-0042",
        "total": Decimal("1250.00"),
        "currency": "USD",
        "due_date": date(2026, 12, 1),
    },
    "quote_sent": {
        "contact_name": "Ann Lee",
        "link": LINK,
        "number": "Q-0007",
        "total": Decimal("980.00"),
        "currency": "EUR",
        "valid_until": date(2027, 1, 15),
    },
    "auto_bill_failed": {
        "contact_name": "Ann Lee",
        "link": LINK,
        "expires_minutes": None,
        "number": "INV-0042",
        "amount": Decimal("1250.00"),
        "currency": "USD",
        "method": "visa card ending in 0341",
        "reason": "Your card was declined.",
        "next_attempt": datetime(2026, 12, 3, 9, 0, tzinfo=UTC),
        "action_required": False,
    },
    "prepayment_failed": {
        "contact_name": "Ann Lee",
        "link": LINK,
        "expires_minutes": None,
        "amount": Decimal("50.00"),
        "currency": "USD",
        "cycle": 2,
        "next_charge": datetime(2027, 1, 1, 9, 0, tzinfo=UTC),
        "method": "visa card ending in 0341",
        "reason": "Your card was declined.",
        "next_attempt": datetime(2026, 12, 3, 9, 0, tzinfo=UTC),
        "action_required": False,
    },
    "webhook_disabled": {
        "contact_name": "Ann Lee",
        "link": LINK,
        "url": "https://partner.example/hooks",
        "reason": "Deliveries have failed for 3 days.",
    },
    "task_comment": {
        "contact_name": "Ann Lee",
        "link": LINK,
        "author": "Bob Stone",
        "title": "Homepage copy",
        "project": "Website",
        "body": "Draft is ready.",
        "unsubscribe_url": LINK,
    },
    "ticket_reply": {
        "contact_name": "Ann Lee",
        "link": LINK,
        "author": "Bob Stone",
        "subject_line": "Login fails",
        "body": "Fixed now.",
        "internal": False,
        "unsubscribe_url": LINK,
    },
}


async def make_account(runtime: Runtime, **branding: Any) -> Account:
    async with runtime.sessions() as session:
        account = await create_account(session, name="Smith & Co", slug="smith")
        for key, value in branding.items():
            setattr(account, key, value)
        session.add(account)
        await session.commit()
    return account


async def queue_and_commit(
    mailer: Mailer,
    runtime: Runtime,
    *,
    account: Account | None,
    to: str = "ann@client.test",
    template: str = "magic_link",
    context: dict[str, Any] | None = None,
    kick: bool = True,
) -> MailMessage:
    """Queue a mail in a transaction that commits, then kick delivery as callers do."""
    async with runtime.sessions() as session:
        message = await mailer.queue(
            session,
            account=account,
            to=to,
            template=template,
            context=context or CONTEXTS[template],
        )
        await session.commit()
    if kick:
        mailer.kick()
    return message


async def outbox(runtime: Runtime) -> list[MailMessage]:
    async with runtime.sessions() as session:
        return list(
            (await session.exec(select(MailMessage).order_by(col(MailMessage.created_at)))).all()
        )


def parts(mail: Any) -> tuple[str, str]:
    return mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()


@pytest.fixture
async def make_mailer(runtime: Runtime) -> AsyncIterator[Callable[..., Mailer]]:
    """A second Mailer on the test's database, with settings changed (closed after)."""
    made: list[Mailer] = []

    def make(**settings: Any) -> Mailer:
        mailer = Mailer(runtime.settings.model_copy(update=settings), runtime.sessions)
        made.append(mailer)
        return mailer

    yield make
    for mailer in made:
        await mailer.close()


# Delivery over SMTP


async def test_committed_mail_arrives_with_text_html_and_branding(
    smtp_runtime: Runtime, smtp_server: SmtpServer
) -> None:
    # given an account with its own colour and logo
    account = await make_account(
        smtp_runtime, primary_color="#0a7d52", logo_url="https://cdn.test/smith.png"
    )

    # when a magic link mail is queued in a transaction that commits
    queued = await queue_and_commit(smtp_runtime.mailer, smtp_runtime, account=account)
    await smtp_runtime.mailer.drain()

    # then it arrives, multipart/alternative, with the link and the branding
    [mail] = await smtp_server.wait_for(1)
    assert mail["Subject"] == "Your sign-in link for Smith & Co"
    assert mail["To"] == "ann@client.test"
    assert mail["From"] == smtp_runtime.settings.mail_from
    assert mail["Message-ID"] == f"<{queued.id}@portico.test>"
    assert mail["Date"] is not None
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail.get_content_type() == "multipart/alternative"
    assert smtp_server.envelopes == [("no-reply@portico.test", ["ann@client.test"])]
    text, html = parts(mail)
    assert LINK in text
    assert "Hello Ann Lee," in text
    assert "Smith & Co client portal" in text
    assert "expires in 15 minutes" in text
    assert LINK.replace("&", "&amp;") in html
    assert "Smith &amp; Co" in html
    assert "background-color:#0A7D52" in html
    assert '<img src="https://cdn.test/smith.png"' in html
    # and the outbox row is kept as SENT
    [row] = await outbox(smtp_runtime)
    assert row.status is MailStatus.SENT
    assert row.attempts == 1
    assert row.sent_at is not None
    assert row.account_id == account.id


async def test_amounts_and_dates_arrive_in_the_accounts_locale_and_time_zone(
    smtp_runtime: Runtime, smtp_server: SmtpServer
) -> None:
    # given a German account whose business is in Los Angeles
    account = await make_account(smtp_runtime, locale="de_DE", timezone="America/Los_Angeles")
    invoice = {**CONTEXTS["invoice_sent"], "total": Decimal("1234.5"), "currency": "EUR"}
    failed = {
        **CONTEXTS["auto_bill_failed"],
        "amount": Decimal("1234.50"),
        "currency": "EUR",
        # 06:30 UTC on the 3rd is still the 2nd (22:30) in Los Angeles
        "next_attempt": datetime(2026, 12, 3, 6, 30, tzinfo=UTC),
    }

    # when an invoice mail and a failed charge mail are sent to the contact
    await queue_and_commit(
        smtp_runtime.mailer, smtp_runtime, account=account, template="invoice_sent", context=invoice
    )
    await queue_and_commit(
        smtp_runtime.mailer,
        smtp_runtime,
        account=account,
        template="auto_bill_failed",
        context=failed,
    )
    await smtp_runtime.mailer.drain()

    # then they arrive written the account's way: German amounts and dates, local days
    sent, charge = await smtp_server.wait_for(2)
    text, html = parts(sent)
    assert "invoice INV-0042 for 1.234,50\xa0€, due on 01.12.2026." in text
    assert "<strong>1.234,50\xa0€</strong>, due on 01.12.2026." in html
    text, html = parts(charge)
    assert "could not charge 1.234,50\xa0€ for invoice INV-0042" in text
    assert "We will try again on 02.12.2026." in text
    assert "We will try again on 02.12.2026." in html


async def test_without_a_locale_of_its_own_mails_are_written_en_us(runtime: Runtime) -> None:
    account = await make_account(runtime)
    message = await queue_and_commit(
        runtime.mailer, runtime, account=account, template="quote_sent"
    )
    assert "quote Q-0007 for €980.00, valid until Jan 15, 2027." in message.text_body


async def test_rolled_back_mail_is_never_sent(
    smtp_runtime: Runtime, smtp_server: SmtpServer
) -> None:
    # given a mail queued in a transaction that rolls back
    mailer = smtp_runtime.mailer
    async with smtp_runtime.sessions() as session:
        await mailer.queue(
            session,
            account=None,
            to="gone@client.test",
            template="magic_link",
            context=CONTEXTS["magic_link"],
        )
        await session.rollback()

    # when another mail is committed and everything due is delivered
    await queue_and_commit(mailer, smtp_runtime, account=None, to="kept@client.test")
    await mailer.drain()
    await mailer.deliver_pending()

    # then only the committed one exists and was sent
    [mail] = await smtp_server.wait_for(1)
    assert mail["To"] == "kept@client.test"
    assert [row.to_address for row in await outbox(smtp_runtime)] == ["kept@client.test"]


async def test_deliver_pending_twice_sends_once(
    smtp_runtime: Runtime, smtp_server: SmtpServer
) -> None:
    await queue_and_commit(smtp_runtime.mailer, smtp_runtime, account=None, kick=False)

    first = await smtp_runtime.mailer.deliver_pending()
    second = await smtp_runtime.mailer.deliver_pending()
    await smtp_runtime.mailer.drain()

    assert (first, second) == (1, 0)
    await asyncio.sleep(0.05)  # a duplicate would have had time to arrive
    assert len(smtp_server.messages) == 1


async def test_mails_go_out_oldest_first_including_those_queued_during_a_run(
    smtp_runtime: Runtime, smtp_server: SmtpServer
) -> None:
    # given three mails in one transaction, then two more commits while delivery runs
    mailer = smtp_runtime.mailer
    async with smtp_runtime.sessions() as session:
        for n in range(3):
            await mailer.queue(
                session,
                account=None,
                to=f"first{n}@client.test",
                template="magic_link",
                context=CONTEXTS["magic_link"],
            )
        await session.commit()
    mailer.kick()
    await queue_and_commit(mailer, smtp_runtime, account=None, to="late0@client.test")
    await queue_and_commit(mailer, smtp_runtime, account=None, to="late1@client.test")

    await mailer.drain()

    mails = await smtp_server.wait_for(5)
    assert [mail["To"] for mail in mails] == [
        "first0@client.test",
        "first1@client.test",
        "first2@client.test",
        "late0@client.test",
        "late1@client.test",
    ]
    assert {row.status for row in await outbox(smtp_runtime)} == {MailStatus.SENT}


async def test_two_instances_never_send_the_same_mail(
    backend: Any, smtp_runtime: Runtime, smtp_server: SmtpServer, make_mailer: Any
) -> None:
    if backend.name == "sqlite":
        pytest.skip("SQLite has no row locks: it serves one instance only")
    # given ten committed mails and two other server instances on the same database
    async with smtp_runtime.sessions() as session:
        for n in range(10):
            await smtp_runtime.mailer.queue(
                session,
                account=None,
                to=f"c{n}@client.test",
                template="magic_link",
                context=CONTEXTS["magic_link"],
            )
        await session.commit()
    others = [make_mailer(smtp_host=smtp_server.host, smtp_port=smtp_server.port) for _ in range(2)]

    # when all three deliver at once
    await asyncio.gather(
        smtp_runtime.mailer.deliver_pending(), *(mailer.deliver_pending() for mailer in others)
    )

    # then every mail arrived exactly once
    await smtp_server.wait_for(10)
    await asyncio.sleep(0.1)
    assert sorted(mail["To"] for mail in smtp_server.messages) == sorted(
        f"c{n}@client.test" for n in range(10)
    )
    rows = await outbox(smtp_runtime)
    assert {(row.status, row.attempts) for row in rows} == {(MailStatus.SENT, 1)}


# Failures


async def test_smtp_down_keeps_the_mail_queued_then_fails_it(
    runtime: Runtime, make_mailer: Any
) -> None:
    # given an SMTP server that does not answer
    mailer = make_mailer(smtp_host="127.0.0.1", smtp_port=free_port(), mail_max_attempts=3)

    # when a mail is committed
    await queue_and_commit(mailer, runtime, account=None)
    await mailer.drain()

    # then it stays queued, with the try and the error recorded
    [row] = await outbox(runtime)
    assert row.status is MailStatus.QUEUED
    assert row.attempts == 1
    assert row.last_error is not None
    assert "SMTPConnect" in row.last_error
    # and it is not tried again before its retry is due
    assert await mailer.deliver_pending() == 0
    [row] = await outbox(runtime)
    assert row.attempts == 1

    # when its retries come and still fail
    later = utcnow() + timedelta(hours=1)
    assert await mailer.deliver_pending(now=later) == 0
    [row] = await outbox(runtime)
    assert (row.status, row.attempts) == (MailStatus.QUEUED, 2)
    assert await mailer.deliver_pending(now=later) == 0

    # then after the last attempt it is FAILED, keeps its error, and is left alone
    [row] = await outbox(runtime)
    assert (row.status, row.attempts) == (MailStatus.FAILED, 3)
    assert row.last_error is not None
    assert row.sent_at is None
    assert await mailer.deliver_pending(now=later + timedelta(days=1)) == 0
    [row] = await outbox(runtime)
    assert row.attempts == 3


async def test_failed_mail_is_retried_without_a_new_kick(
    runtime: Runtime, make_mailer: Any
) -> None:
    mailer = make_mailer(
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        mail_max_attempts=3,
        mail_retry_seconds=0.05,
    )
    await queue_and_commit(mailer, runtime, account=None)

    for _ in range(200):
        [row] = await outbox(runtime)
        if row.status is MailStatus.FAILED:
            break
        await asyncio.sleep(0.02)

    assert (row.status, row.attempts) == (MailStatus.FAILED, 3)


async def test_refused_recipient_fails_at_once(
    smtp_runtime: Runtime, smtp_server: SmtpServer
) -> None:
    smtp_server.refused.add("nobody@client.test")

    await queue_and_commit(smtp_runtime.mailer, smtp_runtime, account=None, to="nobody@client.test")
    await smtp_runtime.mailer.drain()

    [row] = await outbox(smtp_runtime)
    assert (row.status, row.attempts) == (MailStatus.FAILED, 1)
    assert row.last_error is not None
    assert "550" in row.last_error
    assert smtp_server.messages == []


# The development default


async def test_console_default_prints_the_mail_and_keeps_it(runtime: Runtime) -> None:
    assert runtime.settings.smtp_host is None
    account = await make_account(runtime)

    with capture_logs() as logs:
        await queue_and_commit(runtime.mailer, runtime, account=account)
        await runtime.mailer.drain()

    [printed] = [entry for entry in logs if entry["event"] == "mail.printed"]
    assert printed["to"] == "ann@client.test"
    assert printed["subject"] == "Your sign-in link for Smith & Co"
    assert LINK in printed["body"]
    [row] = await outbox(runtime)
    assert row.status is MailStatus.SENT
    assert row.sent_at is not None
    assert row.text_body == printed["body"]
    assert LINK.replace("&", "&amp;") in row.html_body


# Rendering


async def test_html_escapes_user_text_and_text_keeps_it(runtime: Runtime) -> None:
    account = await make_account(runtime)
    hostile = "<script>alert('x')</script>"

    message = await queue_and_commit(
        runtime.mailer,
        runtime,
        account=account,
        context={**CONTEXTS["magic_link"], "contact_name": hostile},
    )

    assert f"Hello {hostile}," in message.text_body
    assert "<script>" not in message.html_body
    assert "Hello &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;," in message.html_body
    assert "Smith &amp; Co" in message.html_body
    assert message.subject == "Your sign-in link for Smith & Co"


@pytest.mark.parametrize("template", sorted(CONTEXTS))
async def test_every_template_has_the_link_and_the_branding(
    runtime: Runtime, template: str
) -> None:
    account = await make_account(runtime, primary_color="#C2185B", logo_url=None)

    message = await queue_and_commit(runtime.mailer, runtime, account=account, template=template)

    assert "Smith & Co" in message.subject
    assert "Hello Ann Lee," in message.text_body
    assert LINK in message.text_body
    assert LINK.replace("&", "&amp;") in message.html_body
    assert "background-color:#C2185B" in message.html_body
    assert "<img" not in message.html_body  # no logo: the name is shown instead
    assert "{{" not in message.text_body + message.html_body


async def test_templates_without_an_account_use_portico_branding(runtime: Runtime) -> None:
    message = await queue_and_commit(
        runtime.mailer,
        runtime,
        account=None,
        template="invoice_sent",
        context={**CONTEXTS["invoice_sent"], "due_date": None, "contact_name": None},
    )

    assert message.subject == "Invoice INV-0042 from Portico"
    assert message.text_body.startswith("Hello,\n")
    assert "INV-0042 for $1,250.00." in message.text_body  # no due date sentence
    assert "background-color:#2F6FEB" in message.html_body
    assert message.account_id is None


async def test_unsafe_branding_falls_back_to_defaults(runtime: Runtime) -> None:
    account = await make_account(runtime, primary_color="red;x", logo_url="javascript:alert(1)")

    message = await queue_and_commit(runtime.mailer, runtime, account=account)

    assert "red;x" not in message.html_body
    assert "background-color:#2F6FEB" in message.html_body
    assert "javascript:" not in message.html_body


async def test_bad_template_context_or_address_is_refused(runtime: Runtime) -> None:
    async with runtime.sessions() as session:
        with pytest.raises(ValueError, match="Unknown mail template"):
            await runtime.mailer.queue(
                session, account=None, to="a@b.test", template="nope", context={}
            )
        with pytest.raises(ValueError, match="Unknown mail template"):
            await runtime.mailer.queue(
                session, account=None, to="a@b.test", template="../base", context={}
            )
        with pytest.raises(ValueError, match="expires_minutes"):
            await runtime.mailer.queue(
                session,
                account=None,
                to="a@b.test",
                template="magic_link",
                context={"contact_name": "Ann", "link": LINK},
            )
        with pytest.raises(ValueError, match="account"):
            await runtime.mailer.queue(
                session,
                account=None,
                to="a@b.test",
                template="magic_link",
                context={**CONTEXTS["magic_link"], "account": "spoof"},
            )
        with pytest.raises(ValueError, match="not an email address"):
            await runtime.mailer.queue(
                session,
                account=None,
                to="a@b.test\r\nBcc: x@y.test",
                template="magic_link",
                context=CONTEXTS["magic_link"],
            )
        await session.commit()
    assert await outbox(runtime) == []


def test_templates_ship_as_package_data() -> None:
    templates = importlib.resources.files("services.mail") / "templates"
    assert template_names() == set(CONTEXTS)
    for name in CONTEXTS:
        for suffix in (".subject.txt", ".txt", ".html"):
            assert (templates / f"{name}{suffix}").is_file()

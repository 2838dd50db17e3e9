"""Configuration through ``portico`` as a new user meets it (issue 10): a mistake is one
line on stderr naming the variable, exit code 2; links follow the port actually served
unless ``PORTICO_PUBLIC_BASE_URL`` says otherwise; ``postgresql://`` gets its driver."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.cli import main, served_settings
from services.config import Settings
from tests.conftest import SECRET
from tests.server.serving import portico_serve

ROOT = Path(__file__).resolve().parents[2]


def portico_env(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTICO_")}
    env.update({"PORTICO_ENVIRONMENT": "test", "PORTICO_SECRET_KEY": SECRET, **variables})
    return env


def portico(*args: str, cwd: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "server.cli", *args],
        cwd=cwd,
        env={**portico_env(**variables), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("variables", "line"),
    [
        (
            {"PORTICO_CORS_ORIGINS": "https://app.example.com"},
            'error: PORTICO_CORS_ORIGINS: expected a JSON list, e.g. ["https://app.example.com"]'
            " (or [] for none)",
        ),
        (
            {"PORTICO_TRUSTED_PROXIES": "10.0.0.1"},
            'error: PORTICO_TRUSTED_PROXIES: expected a JSON list, e.g. ["10.0.0.1",'
            ' "192.168.0.0/16"] (or [] for none)',
        ),
        (
            {"PORTICO_TRUSTED_PROXIES": '["proxy.internal"]'},
            "error: PORTICO_TRUSTED_PROXIES: 'proxy.internal' is not an IP address or network",
        ),
        (
            {"PORTICO_PUBLIC_BASE_URL": "localhost:8000"},
            "error: PORTICO_PUBLIC_BASE_URL: expected an http(s) URL such as"
            " https://billing.example.com, got 'localhost:8000'",
        ),
        (
            {"PORTICO_DATABASE_URL": "var/portico.sqlite3"},
            "error: PORTICO_DATABASE_URL: expected a database URL such as"
            " sqlite+aiosqlite:///var/portico.sqlite3 or postgresql+asyncpg://user@host/db",
        ),
        (
            {
                "PORTICO_ENVIRONMENT": "production",
                "PORTICO_SECRET_KEY": "portico-development-secret-change-me",
            },
            "error: PORTICO_SECRET_KEY must be set to a private random value in production",
        ),
        (
            {"PORTICO_ENVIRONMENT": "production", "PORTICO_SECRET_KEY": "short"},
            "error: PORTICO_SECRET_KEY must be at least 32 characters in production",
        ),
        (
            {"PORTICO_SIGN_IN_ATTEMPTS_PER_EMAIL": "five per quarter hour"},
            "error: PORTICO_SIGN_IN_ATTEMPTS_PER_EMAIL: expected one rate limit such as"
            " '5/15 minutes' or '20/hour' (at least 1 per second, minute, hour, day, month or"
            " year), got 'five per quarter hour'",
        ),
        (
            {"PORTICO_MAGIC_LINKS_PER_ADDRESS": "20/15 minutes; 100/day"},
            "error: PORTICO_MAGIC_LINKS_PER_ADDRESS: expected one rate limit such as"
            " '5/15 minutes' or '20/hour' (at least 1 per second, minute, hour, day, month or"
            " year), got '20/15 minutes; 100/day'",
        ),
        (
            {"PORTICO_REGISTRATIONS_PER_ADDRESS": "0/hour"},
            "error: PORTICO_REGISTRATIONS_PER_ADDRESS: expected one rate limit such as"
            " '5/15 minutes' or '20/hour' (at least 1 per second, minute, hour, day, month or"
            " year), got '0/hour'",
        ),
        (
            {"PORTICO_SMTP_PORT": "twenty-five"},
            "error: PORTICO_SMTP_PORT: input should be a valid integer, unable to parse string"
            " as an integer (got 'twenty-five')",
        ),
    ],
)
def test_a_configuration_mistake_is_one_line_and_exit_code_2(
    tmp_path: Path,
    variables: dict[str, str],
    line: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
):
    # ``portico serve`` in this process (a new interpreter per case took most of this
    # file's time); the first case also runs as its own process, below
    for name in [name for name in os.environ if name.startswith("PORTICO_")]:
        monkeypatch.delenv(name)
    for name, value in portico_env(**variables).items():
        if name.startswith("PORTICO_"):
            monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    assert main(["serve", "--port", "1"]) == 2
    out, err = capfd.readouterr()
    assert err.splitlines() == [line]
    assert "Traceback" not in err
    assert out == ""


def test_a_configuration_mistake_ends_the_process_with_one_line_and_exit_code_2(
    tmp_path: Path,
):
    result = portico("serve", "--port", "1", cwd=tmp_path, PORTICO_CORS_ORIGINS="*")
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        'error: PORTICO_CORS_ORIGINS: expected a JSON list, e.g. ["https://app.example.com"]'
        " (or [] for none)"
    ]
    assert result.stdout == ""


@pytest.mark.parametrize("command", [["migrate"], ["demo"], ["run-scheduler", "--once"]])
def test_every_command_reports_a_mistake_the_same_way(tmp_path: Path, command: list[str]):
    result = portico(*command, cwd=tmp_path, PORTICO_CORS_ORIGINS="*")
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        'error: PORTICO_CORS_ORIGINS: expected a JSON list, e.g. ["https://app.example.com"]'
        " (or [] for none)"
    ]


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_postgresql_url_without_a_driver_gets_asyncpg(scheme: str):
    settings = Settings(database_url=f"{scheme}://portico:secret@db.internal:5432/portico")
    assert settings.database_url == "postgresql+asyncpg://portico:secret@db.internal:5432/portico"


@pytest.mark.parametrize(
    "field",
    [
        "sign_in_attempts_per_email",
        "sign_in_attempts_per_address",
        "magic_links_per_email",
        "magic_links_per_address",
        "registrations_per_address",
    ],
)
def test_every_rate_limit_is_checked_and_good_ones_pass(field: str):
    assert getattr(Settings.model_validate({field: "20 per hour"}), field) == "20 per hour"
    with pytest.raises(ValueError, match="expected one rate limit"):
        Settings.model_validate({field: "5/fortnight"})


@pytest.mark.parametrize(
    ("database_url", "redis_url"),
    [
        (
            "postgresql://portico:db-pass-word@db.internal:5432/portico",
            "redis://:redis-pass@r:6379/0",
        ),
        ("postgresql+asyncpg://portico:db%40pass@db.internal/portico", "rediss://u:p%2Fw@r/1"),
        ("postgresql+asyncpg://portico@db.internal/portico?password=db-pass-word", None),
    ],
)
def test_settings_never_show_their_secrets(database_url: str, redis_url: str | None):
    settings = Settings(
        secret_key="the-secret-key-" * 3,
        smtp_password="smtp-pass-word",
        database_url=database_url,
        redis_url=redis_url,
    )
    for shown in (repr(settings), str(settings)):
        assert "the-secret-key-" not in shown
        assert "smtp-pass-word" not in shown
        for password in ("db-pass-word", "db%40pass", "redis-pass", "p%2Fw"):
            assert password not in shown
        assert "db.internal" in shown  # the rest of the URL is still there to read
    assert settings.secret_key.get_secret_value() == "the-secret-key-" * 3
    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == "smtp-pass-word"
    assert "db.internal" in settings.database_url  # the URL itself is whole


def test_links_follow_the_served_address_unless_the_base_url_is_set():
    default = Settings()
    assert served_settings(default, "127.0.0.1", 9001).portal_base_url == (
        "http://127.0.0.1:9001/portal"
    )
    assert served_settings(default, "0.0.0.0", 9002).public_base_url == "http://127.0.0.1:9002"  # noqa: S104
    assert served_settings(default, "::", 9003).public_base_url == "http://[::1]:9003"
    chosen = Settings(public_base_url="https://billing.example.com/")
    assert served_settings(chosen, "127.0.0.1", 9001).public_base_url == (
        "https://billing.example.com"
    )
    assert served_settings(chosen, "127.0.0.1", 9001).portal_base_url == (
        "https://billing.example.com/portal"
    )


def test_the_base_url_set_in_the_environment_wins(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PORTICO_PUBLIC_BASE_URL", "https://billing.example.com")
    settings = served_settings(Settings(), "127.0.0.1", 9001)
    assert settings.public_base_url == "https://billing.example.com"


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``portico migrate``, ``portico demo``, ``portico serve --port <free>`` as a new user
    runs them: no ``PORTICO_PUBLIC_BASE_URL``. Yields the base URL."""
    home = tmp_path_factory.mktemp("new-user")
    variables = {
        "PORTICO_DATABASE_URL": f"sqlite+aiosqlite:///{home / 'portico.sqlite3'}",
        "PORTICO_SCHEDULER_ENABLED": "false",
        "PORTICO_LOG_LEVEL": "WARNING",
    }
    for command in (["migrate"], ["demo"]):
        result = portico(*command, cwd=home, **variables)
        assert result.returncode == 0, result.stderr
    with portico_serve(cwd=home, env=portico_env(**variables)) as (base, _pid):
        yield base


def graphql(base: str, query: str, token: str | None = None, **variables: object) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=30,
    )
    body = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def test_create_portal_link_points_at_the_served_port(demo_server: str):
    sign_in = "mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }"
    token = graphql(demo_server, sign_in, e="admin@demo.test", p="portico-demo")["signIn"]["token"]
    clients = graphql(demo_server, "{ clients { nodes { contacts { id } } } }", token)
    contact = clients["clients"]["nodes"][0]["contacts"][0]["id"]
    link = graphql(
        demo_server,
        "mutation($id: ID!) { createPortalLink(contactId: $id) { url } }",
        token,
        id=contact,
    )["createPortalLink"]["url"]
    assert link.startswith(f"{demo_server}/portal/demo/"), link

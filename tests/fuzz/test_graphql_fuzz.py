"""schemathesis (GraphQL mode) against a live server on 127.0.0.1 with the demo data.

A throwaway SQLite database is migrated and seeded (``seed_demo``), bearer tokens are made for
a staff user (``admin``, a superuser: every mutation is open to it) and a seller (``seller``),
then ``manage.py runserver`` serves it on a free port. schemathesis generates queries and
mutations from the introspected schema, ``FUZZ_EXAMPLES`` per login (default 1000), within
``FUZZ_SECONDS`` per login (default 240: the budget; a run that reaches it stops there and says
how many operations it made, since a loaded machine makes fewer; fewer than ``FLOOR`` means the
server hung and fails). Every
response must be below 500 and every entry of ``errors`` must carry ``extensions.code``.
Mutations change the throwaway database; that is fine.

Runs in the SQLite pass of ``make test`` only (marked ``fuzz``). Alone:
``FUZZ_EXAMPLES=200 .venv/bin/python -m pytest -n 0 -q tests/fuzz``.
"""

import base64
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1000"))
SECONDS = float(os.environ.get("FUZZ_SECONDS", "240"))
FLOOR = min(EXAMPLES, 100)  # far below what the slowest run so far made (884 at load 12)

pytestmark = pytest.mark.fuzz

TYPES = ("SellerAccount", "Order", "Dispute", "Payout", "ApiToken", "PromotionMovement", "Notice")


def _global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def _text(valid: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Mostly well-formed values (so the services run), sometimes any text."""
    return st.one_of(valid, valid, valid, st.text(max_size=40)).map(nodes.String)


# The demo data's objects by global id (most calls reach a real object), or any string.
schemathesis.graphql.scalar(
    "ID", _text(st.builds(_global_id, st.sampled_from(TYPES), st.integers(1, 80)))
)
schemathesis.graphql.scalar(
    "Decimal",
    _text(st.decimals(-(10**6), 10**6, places=2, allow_nan=False, allow_infinity=False).map(str)),
)
schemathesis.graphql.scalar("Date", _text(st.dates().map(date.isoformat)))
schemathesis.graphql.scalar(
    "DateTime", _text(st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat))
)
schemathesis.graphql.scalar("JSON", _text(st.just("{}")))

MAKE_TOKENS = """
from accounts.models import User
from accounts.services import api_token_create
for name in ("admin", "seller"):
    print("TOKEN", name, api_token_create(actor=User.objects.get(username=name), name="fuzz")[1])
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@dataclass
class Server:
    url: str
    tokens: dict[str, str]


@pytest.fixture
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The demo data on a fresh SQLite file, served until the module ends."""
    db = tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "DJANGO_DEBUG": "1",
        "DJANGO_SECRET_KEY": "fuzz-only-" + "x" * 50,
        "LOG_LEVEL": "CRITICAL",
    }
    _manage(env, "migrate", "--no-input")
    _manage(env, "seed_demo")
    lines = _manage(env, "shell", "-c", MAKE_TOKENS).splitlines()
    tokens = {
        name: token for _, name, token in (x.split() for x in lines if x.startswith("TOKEN "))
    }
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/graphql/"
        _wait_for(url, process)
        yield Server(url=url, tokens=tokens)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_for(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server stopped"
        try:
            requests.post(url, json={"query": "{ __typename }"}, timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError("the server did not start")


@dataclass
class Run:
    operations: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)  # errors' and messages' codes
    failures: list[dict[str, Any]] = field(default_factory=list)


def _problems(response: requests.Response) -> list[str]:
    if response.status_code >= 500:
        return [f"HTTP {response.status_code}"]
    try:
        body = response.json()
    except ValueError:
        return [f"HTTP {response.status_code} without a JSON body"]
    errors = body.get("errors") or [] if isinstance(body, dict) else []
    return [
        f"error without extensions.code: {error.get('message')!r}"
        for error in errors
        if not (error.get("extensions") or {}).get("code")
    ]


def _codes(response: requests.Response) -> list[str]:
    """The codes of the response's errors and OperationInfo messages (``ok`` for none)."""
    text = response.text
    found = [part.split('"')[0] for part in text.split('"code": "')[1:]]
    found += [part.split('"')[0] for part in text.split('"code":"')[1:]]
    return found or ["ok"]


def fuzz(server: Server, login: str) -> Run:
    headers = {"Authorization": f"Bearer {server.tokens[login]}"}
    schema = schemathesis.graphql.from_url(server.url, headers=headers, timeout=30)
    operations = [result.ok() for result in schema.get_all_operations()]
    strategy = st.one_of([operation.as_strategy() for operation in operations])
    run = Run()
    session = requests.Session()
    stop_at = time.monotonic() + SECONDS

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def one(case: Any) -> None:
        if time.monotonic() > stop_at:
            return
        response = case.call(base_url=server.url, session=session, headers=headers, timeout=60)
        run.operations += 1
        run.statuses[response.status_code] = run.statuses.get(response.status_code, 0) + 1
        for code in _codes(response):
            run.codes[code] = run.codes.get(code, 0) + 1
        for problem in _problems(response):
            run.failures.append(
                {
                    "problem": problem,
                    "body": case.body,
                    "response": response.text[:2000],
                }
            )

    one()
    return run


def test_generated_operations_get_no_server_error_and_every_error_has_a_code(server):
    """One test for both logins: xdist never starts the server twice."""
    failures = []
    for login in ("admin", "seller"):
        started = time.monotonic()
        run = fuzz(server, login)
        took = time.monotonic() - started
        print(f"\nfuzz {login}: {run.operations} operations in {took:.0f} s, {run.statuses}")
        print(f"codes: {dict(sorted(run.codes.items(), key=lambda kv: -kv[1]))}")
        failures += [{"login": login, **failure} for failure in run.failures]
        assert run.operations >= FLOOR, f"{login}: only {run.operations} within {SECONDS} s"
    report = json.dumps(failures[:20], indent=1, ensure_ascii=False)
    assert failures == [], f"{len(failures)} failures, the first ones:\n{report}"

"""deploy/run-local-stack, the documented stand-in for `docker compose up` where Docker is not
available: it brings up PostgreSQL, migrations, static files, gunicorn and the worker; /health/
answers healthy; pages and static files (GraphiQL's, byte for byte) are served; a TERM stops
every process it started and removes its directory."""

import base64
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "deploy" / "run-local-stack"
START_TIMEOUT = 150
STOP_TIMEOUT = 60

pytestmark = pytest.mark.postgres


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.status, dict(response.headers), response.read()


def _wait_for(predicate, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} after {timeout}s; output:\n{log.read_text()}")
        time.sleep(0.3)


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0]
    except FileNotFoundError:
        return True
    return state == "Z"  # exited, waiting for init to reap it


@pytest.fixture
def stack(tmp_path):
    port = _free_port()
    log = tmp_path / "stack.log"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "PORT": str(port),
        "PYTHON": sys.executable,
        "WEB_CONCURRENCY": "1",
        "GRAPHIQL_ENABLED": "1",
        "STACK_START_TIMEOUT": str(START_TIMEOUT - 30),
    }
    with log.open("w") as out:
        process = subprocess.Popen(
            ["bash", str(SCRIPT)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        _wait_for(
            lambda: "run-local-stack: healthy" in log.read_text() or process.poll() is not None,
            START_TIMEOUT,
            "not healthy",
            log,
        )
        assert process.poll() is None, log.read_text()
        yield process, f"http://127.0.0.1:{port}", log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def _started(log: Path) -> tuple[Path, list[int]]:
    text = log.read_text()
    directory = Path(re.search(r"run-local-stack: dir (\S+)", text)[1])
    pids = [int(p) for p in re.findall(r"run-local-stack: (?:postgres|web|worker) pid (\d+)", text)]
    return directory, pids


def test_the_stack_comes_up_healthy_serves_pages_and_static_files_and_stops_cleanly(stack):
    process, base, log = stack
    directory, pids = _started(log)
    assert directory.is_dir()
    assert len(pids) >= 2  # postgres and web (and the worker once the queue is merged)

    status, headers, body = _get(f"{base}/health/?format=json", **{"X-Request-ID": "probe-1"})
    assert status == 200
    assert json.loads(body)["status"] == "healthy"
    assert headers["X-Request-ID"] == "probe-1"

    status, _headers, body = _get(f"{base}/admin/login/")
    assert status == 200
    stylesheet = re.search(rb'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', body)
    assert stylesheet, "the admin links its stylesheet under its hashed name"
    status, headers, css = _get(base + stylesheet[1].decode())
    assert (status, headers["Content-Type"].split(";")[0]) == (200, "text/css")
    assert len(css) > 1000  # the file itself, not an empty answer

    _assert_graphiql_files_match_their_integrity(base)

    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(STOP_TIMEOUT) == 0, log.read_text()
    assert not directory.exists()
    _wait_for(lambda: all(_gone(pid) for pid in pids), 10, "processes still running", log)


def _assert_graphiql_files_match_their_integrity(base: str) -> None:
    status, _headers, page = _get(f"{base}/graphql/", Accept="text/html")
    assert status == 200
    resources = re.findall(rb'(?:src|href)="(/static/graphiql/[^"]+)"\s+integrity="([^"]+)"', page)
    assert len(resources) == 7, page
    for url, integrity in resources:
        assert re.search(rb"\.[0-9a-f]{12}\.(js|css)$", url), url  # the manifest's name
        status, _headers, content = _get(base + url.decode())
        digest = base64.b64encode(hashlib.sha384(content).digest())
        assert (status, b"sha384-" + digest) == (200, integrity), url

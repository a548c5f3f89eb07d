""".env.example lists every variable the settings read, so an operator sees them all."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READ = re.compile(r'(?:env_bool|env_int|env_header_pair|environ\.get)\(\s*"([A-Z0-9_]+)"')
LISTED = re.compile(r"^(?:# )?([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def test_every_variable_the_settings_read_is_in_env_example():
    read = set(READ.findall((ROOT / "backoffice" / "settings.py").read_text()))
    listed = set(LISTED.findall((ROOT / ".env.example").read_text()))

    assert len(read) > 70
    assert read - listed == set()
    assert {"DATABASE_URL", "WEB_CONCURRENCY", "PORT"} <= listed

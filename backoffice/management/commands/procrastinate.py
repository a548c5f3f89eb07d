"""procrastinate's own command (``manage.py procrastinate worker`` etc.), also without PostgreSQL.

Its command hands itself the app only when the app talks to the database through Django; on
SQLite the app queues in memory (backoffice/jobs.py), so a worker there runs the periodic
deadline jobs inside its own process: enough for development, not for several processes.
"""

import asyncio
from typing import Any

from procrastinate import cli
from procrastinate.contrib.django import app
from procrastinate.contrib.django.management.commands import procrastinate

from backoffice.jobs import uses_queue


class Command(procrastinate.Command):
    def handle(self, *args: Any, **kwargs: Any) -> None:
        if uses_queue():
            return super().handle(*args, **kwargs)
        kwargs = {k: v for k, v in kwargs.items() if k not in self._django_options}
        asyncio.run(cli.execute_command({**kwargs, "app": app}))

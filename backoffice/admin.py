"""Admin of the back-office's own models: the imported platform exports and the import page
(backoffice/admin_imports.py), the deadline jobs' heartbeats and failed rows
(backoffice/admin_deadlines.py), outbound events and webhooks (backoffice/admin_webhooks.py)."""

from backoffice import (  # noqa: F401  (they register their admins)
    admin_deadlines,
    admin_imports,
    admin_webhooks,
)

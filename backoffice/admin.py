"""Admin of the back-office's own models: the imported platform exports and the import page
(backoffice/admin_imports.py), outbound events and webhooks (backoffice/admin_webhooks.py)."""

from backoffice import (
    admin_imports,  # noqa: F401  (registers ImportFileAdmin)
    admin_webhooks,  # noqa: F401  (webhook endpoints, deliveries, events)
)

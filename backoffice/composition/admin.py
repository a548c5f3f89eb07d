"""Admin of the composition root: the imported platform exports and the import page
(backoffice/composition/admin_imports.py), outbound events and webhooks
(backoffice/composition/admin_webhooks.py)."""

from backoffice.composition import admin_imports, admin_webhooks  # noqa: F401  (they register their admins)

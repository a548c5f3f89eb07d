"""Admin of the composition root: the imported platform exports and the import page
(composition/admin_imports.py), outbound events and webhooks (composition/admin_webhooks.py)."""

from composition import admin_imports, admin_webhooks  # noqa: F401  (they register their admins)

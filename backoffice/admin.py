"""Admin of the back-office's own models: the imported platform exports and the import page
(backoffice/admin_imports.py)."""

from backoffice import admin_imports  # noqa: F401  (registers ImportFileAdmin)

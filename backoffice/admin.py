"""Admin of the kernel's own models: the deadline jobs' heartbeats and failed rows
(backoffice/admin_deadlines.py). The imports' and webhooks' admins are the composition root's
(backoffice/composition/admin.py)."""

from backoffice import admin_deadlines  # noqa: F401  (it registers its admins)

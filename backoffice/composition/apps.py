from django.apps import AppConfig
from procrastinate import App


class CompositionConfig(AppConfig):
    """The composition root: the one package that imports the apps and wires them together
    (root schema and urls, imports, webhooks, seed_demo, the order of the deadline jobs and
    of the import appliers)."""

    name = "backoffice.composition"

    def ready(self) -> None:
        from backoffice.composition import deadlines
        from backoffice.composition.imports import appliers

        deadlines.install()
        appliers.install()


def on_queue_ready(app: App) -> None:
    """PROCRASTINATE_ON_APP_READY: the kernel's queue set-up and the deadline jobs, then the
    import jobs (they need the apps' models)."""
    from backoffice.composition.import_jobs import register_import_tasks
    from backoffice.jobs import on_app_ready

    on_app_ready(app)
    register_import_tasks(app)

from django.core.management.base import BaseCommand

from accounts.roles import sync_roles


class Command(BaseCommand):
    help = "Create the staff role groups (support, risk, finance) with their permissions."

    def handle(self, *args, **options) -> None:
        for role, count in sync_roles().items():
            self.stdout.write(f"{role}: {count} permissions")

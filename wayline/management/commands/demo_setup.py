"""Set up the demo workspace (idempotent) and print where to look."""
from django.conf import settings
from django.core.management.base import BaseCommand

from wayline.demo import demo_application_setup, demo_logins


class Command(BaseCommand):
    help = "Create the demo application, its guides and the demo logins; safe to run again."

    def handle(self, *args, **options):
        application = demo_application_setup()
        logins = demo_logins()
        base = settings.WAYLINE_PUBLIC_URL
        self.stdout.write(self.style.SUCCESS(f"Demo application ready: {application.name}"))
        self.stdout.write(f"  Admin:          {base}/admin/   (editor: admin / {logins['admin']}, viewer: viewer / {logins['viewer']})")
        self.stdout.write(f"  Demo host page: {base}/demo/")

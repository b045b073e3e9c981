"""WSGI entry point (gunicorn wayline.wsgi)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wayline.settings")
application = get_wsgi_application()

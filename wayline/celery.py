"""The Celery application; tasks run in-process unless REDIS_URL names a broker."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wayline.settings")

app = Celery("wayline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Report rollup tasks live beside the ingest tasks, in their own module.
app.autodiscover_tasks(related_name="tasks_reports")

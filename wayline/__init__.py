"""Wayline: in-app onboarding and experiments for web products."""
from wayline.celery import app as celery_app

__all__ = ["celery_app"]

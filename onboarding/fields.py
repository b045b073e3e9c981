"""Model fields that keep their own invariants whatever path writes them."""
from django.db import models

from onboarding.sanitize import sanitize_html


class SanitizedHTMLField(models.TextField):
    """Rich text that is sanitised to the allowlist every time it is saved."""

    def pre_save(self, model_instance, add):
        value = sanitize_html(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value

"""A log formatter that prints the ids passed as ``extra`` beside the event name.

Secret keys are redacted from every line: a customer who puts one where the publishable key
belongs (``?key=wl_sk_…``) would otherwise see it logged with the request (``django.request``
prints the full path of every 4xx and 5xx).
"""
import logging
import re

from onboarding.keys import SECRET_PREFIX

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_SECRET_KEY = re.compile(re.escape(SECRET_PREFIX) + r"[A-Za-z0-9_\-%]+")
REDACTED = SECRET_PREFIX + "[redacted]"


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {key: value for key, value in vars(record).items() if key not in _STANDARD}
        if fields:
            line += " " + " ".join(f"{key}={value}" for key, value in sorted(fields.items()))
        return _SECRET_KEY.sub(REDACTED, line)

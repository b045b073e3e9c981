"""A log formatter that prints the ids passed as ``extra`` beside the event name."""
import logging

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {key: value for key, value in vars(record).items() if key not in _STANDARD}
        if not fields:
            return line
        return line + " " + " ".join(f"{key}={value}" for key, value in sorted(fields.items()))

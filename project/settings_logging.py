"""Logging: JSON lines in production, text in development; every line carries the
request or job id (project/logcontext.py) and has URL secrets redacted."""


def logging_config(*, production: bool, level: str) -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "project.logcontext.ContextFilter"},
                    "redact": {"()": "project.logcontext.RedactFilter"}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
            "text": {
                "()": "project.logcontext.TextFormatter",
                "format": "%(asctime)s %(levelname)-7s %(name)s %(message)s",
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if production else "text",
                "filters": ["context", "redact"],
            }
        },
        "root": {"handlers": ["console"], "level": level.upper()},
        "loggers": {
            # Only through the console handler above, whose filter hides URL secrets: Django's
            # own handlers (a development console, mail_admins) would print them unfiltered.
            "django": {"handlers": []},
            # Daphne logs a line per connection at INFO: keep those out of the way.
            "daphne": {"level": "WARNING"},
            "django.channels.server": {"level": "WARNING"},
        },
    }

"""Running Moa in a subprocess with a given environment (production settings, roles)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The environment a production web process needs, pointing at this machine's services.
PRODUCTION_ENV = {
    "MOA_ENV": "production",
    "SECRET_KEY": "ksLFs7gQQulM84KMpgan8_U3iLJI6F4xlG9BRxcfsUxVIX7tQgCR2Q",  # test-only
    "ALLOWED_HOSTS": "moa.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://moa.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
    "REDIS_URL": "redis://127.0.0.1:6379/9",
    "STORAGE_BACKEND": "s3",
    "STORAGE_BUCKET": "moa-test",
    "INTERNAL_API_TOKEN": "oGzintcxlX09Z_KlUd26jQsXUIA9K0P2S3fYi34Exnm8H2k0oOSKSg",  # test-only
    "EMAIL_URL": "smtp://127.0.0.1:2525",
}


def clean_env(**overrides: str) -> dict[str, str]:
    """os.environ without any Moa name, plus `overrides`."""
    from project.config import DB_PARTS, REDIS_PARTS, VARS

    moa_names = {name for var in VARS for name in (var.name, *var.aliases, *var.fallbacks)}
    moa_names |= set(REDIS_PARTS) | set(DB_PARTS)
    env = {k: v for k, v in os.environ.items() if k not in moa_names}
    env["DJANGO_SETTINGS_MODULE"] = "project.settings"
    env.update(overrides)
    return env


def run_python(code: str, env: dict[str, str], timeout: float = 60
               ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def run_manage(*args: str, env: dict[str, str], timeout: float = 120
               ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def unwritable_storages(tmp_path: Path) -> dict:
    """STORAGES whose local root lies under a file: every put fails with an OSError."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    return {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                        "OPTIONS": {"location": str(blocker / "media")}},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

"""Bad configuration stops a process before it serves anything, naming every problem."""

import json

from tests.helpers import PRODUCTION_ENV, clean_env, run_manage, run_python


def test_web_role_in_production_lists_every_missing_name_before_serving():
    result = run_python("import project.asgi", clean_env(MOA_ENV="production"))
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "role web needs" in result.stderr
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL",
                 "STORAGE_BACKEND", "INTERNAL_API_TOKEN"):
        assert name in result.stderr, last


def test_conflicting_names_stop_any_command_naming_both():
    env = clean_env(STORAGE_REGION="eu-west-1", AWS_S3_REGION_NAME="us-east-1")
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "AWS_S3_REGION_NAME and STORAGE_REGION" in result.stderr


def test_management_commands_in_production_refuse_to_fall_back_to_sqlite():
    result = run_manage("migrate", "--check", env=clean_env(MOA_ENV="production"))
    assert result.returncode != 0
    assert "moa.E001" in result.stderr and "DATABASE_URL" in result.stderr


def test_complete_production_environment_loads_the_web_application():
    result = run_python("import project.asgi; print('loaded')", clean_env(**PRODUCTION_ENV))
    assert result.returncode == 0, result.stderr
    assert "loaded" in result.stdout


def test_production_logs_are_json_lines_with_the_request_id():
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "Client().get('/health/', HTTP_X_REQUEST_ID='req-12345678', secure=True)\n"
        "import logging; logging.getLogger('moa.test').warning('hello')\n"
        "from project.logcontext import request_id_var\n"
        "request_id_var.set('req-abcdefgh'); logging.getLogger('moa.test').warning('inside')\n"
    )
    result = run_python(code, clean_env(**PRODUCTION_ENV))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    inside = next(line for line in lines if line["message"] == "inside")
    assert inside["request_id"] == "req-abcdefgh"
    assert inside["level"] == "WARNING" and inside["logger"] == "moa.test"

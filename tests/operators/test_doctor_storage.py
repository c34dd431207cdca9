"""`doctor` puts, heads and deletes a probe in each folder Moa writes (videos/,
imports/, under STORAGE_KEY_PREFIX) and names the first one storage refuses, with the
operation that failed: a policy that denies one folder is found before the first real
upload is."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from io import StringIO
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from django.core.management import call_command
from django.test import override_settings

from media_pipeline.jobs import registry
from tests.helpers import ROOT, clean_env
from tests.jobs.moto import BUCKET, moto_server, s3_storages
from tests.unprivileged import NOBODY, python_as_nobody

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
PREFIX = "tenant-a/moa/"
# Allowed everything in the bucket but PutObject under the videos folder.
DENY_VIDEOS = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:*",
     "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]},
    {"Effect": "Deny", "Action": "s3:PutObject",
     "Resource": f"arn:aws:s3:::{BUCKET}/{PREFIX}videos/*"}]}


@pytest.fixture(autouse=True)
def embedded(settings):
    settings.EMBEDDED_WORKER = True  # doctor's view of `make run`: no worker to wait for


def doctor_json() -> dict:
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("doctor", "--json", stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


def test_the_folders_probed_are_every_kinds_key_prefix():
    assert registry.key_prefixes() == ["imports/", "videos/"]


def test_a_policy_denying_puts_under_videos_is_named_with_the_operation(settings):
    """moto enforces IAM identity policies, not bucket policies; a user policy denying
    PutObject on one folder gets the same AccessDenied over HTTP that a bucket policy
    would (after the first four requests, which set the user up, moto checks)."""
    settings.STORAGE_KEY_PREFIX = PREFIX
    with moto_server(INITIAL_NO_AUTH_ACTION_COUNT="4") as url:
        iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")
        iam.create_user(UserName="moa")
        iam.put_user_policy(UserName="moa", PolicyName="deny-videos",
                            PolicyDocument=json.dumps(DENY_VIDEOS))
        key = iam.create_access_key(UserName="moa")["AccessKey"]
        storages = s3_storages(url)
        storages["default"]["OPTIONS"].update(access_key=key["AccessKeyId"],
                                              secret_key=key["SecretAccessKey"])
        with override_settings(STORAGES=storages, STORAGE_BACKEND="s3"):
            report = doctor_json()
        left = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                            aws_access_key_id=key["AccessKeyId"],
                            aws_secret_access_key=key["SecretAccessKey"],
                            config=Config(s3={"addressing_style": "path"})
                            ).list_objects_v2(Bucket=BUCKET).get("Contents", [])
    check = report["checks"]["storage"]
    assert not check["ok"]
    assert check["detail"].startswith(f"RuntimeError: {PREFIX}videos/: put failed "
                                      f"(AccessDenied"), check["detail"]
    assert "STORAGE_KEY_PREFIX" in check["env"]
    assert left == []  # the imports/ probe, allowed, was deleted


def test_every_folder_allowed_passes_naming_them(local_storage, settings):
    settings.STORAGE_KEY_PREFIX = PREFIX
    out = StringIO()
    call_command("doctor", "--json", stdout=out, stderr=StringIO())
    check = json.loads(out.getvalue())["checks"]["storage"]
    assert check == {**check, "ok": True,
                     "detail": f"local: put/head/delete ok under {PREFIX}imports/, "
                               f"{PREFIX}videos/"}
    assert [path.name for path in (local_storage / PREFIX / "videos").iterdir()] == []


def test_a_read_only_folder_on_the_local_backend_is_named():
    """Run as an unprivileged uid: root writes into a read-only folder anyway."""
    root = Path(tempfile.mkdtemp(prefix="moa-doctor-"))
    try:
        for folder in ("", "tenant-a", "tenant-a/moa", "tenant-a/moa/videos"):
            (root / folder).mkdir(exist_ok=True)
            (root / folder).chmod(0o777)
        (root / PREFIX / "imports").mkdir(mode=0o555)
        (root / PREFIX / "imports").chmod(0o555)
        if os.geteuid() == 0:
            os.chown(root / PREFIX / "imports", NOBODY, NOBODY)
        argv, env = python_as_nobody(
            ["manage.py", "doctor", "--json"],
            clean_env(STORAGE_LOCAL_ROOT=str(root), R2_PREFIX=PREFIX))
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120)
    finally:
        (root / PREFIX / "imports").chmod(0o755)
        subprocess.run(["rm", "-rf", str(root)], check=True)
    check = json.loads(done.stdout)["checks"]["storage"]
    assert not check["ok"]
    assert check["detail"].startswith(f"RuntimeError: {PREFIX}imports/: put failed"), check
    assert "Permission denied" in check["detail"]

import re
from pathlib import Path

import pytest

from project import config
from project.config import ConfigError, load

PRODUCTION_WEB = {
    "MOA_ENV": "production",
    "SECRET_KEY": "sARv_RcqFNUCGljI_c-YxiefheVinzl5zn7k2z1PoryEZ7cdkuX1Xw",
    "ALLOWED_HOSTS": "moa.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://moa.example.com",
    "DATABASE_URL": "postgres://moa:pw@db:5432/moa",
    "REDIS_URL": "redis://redis:6379/0",
    "STORAGE_BACKEND": "s3",
    "STORAGE_BUCKET": "moa-media",
    "INTERNAL_API_TOKEN": "MN1RPoJzmZTRRxdXEU-1r_YoQ-qcPVh8x-CxmtcNX7mJCdiynBt5cg",
    "EMAIL_URL": "smtp://mail:25",
}


def test_no_environment_means_embedded_defaults():
    cfg = load({})
    assert not cfg.production
    assert cfg["DATABASE_URL"] is None and cfg["REDIS_URL"] is None
    assert cfg["STORAGE_BACKEND"] == "local"
    assert cfg.missing_for("web") == [] and cfg.missing_for("worker") == []
    assert cfg.warnings == []


def test_legacy_alias_is_read_with_a_warning_naming_the_canonical_name():
    cfg = load({"AWS_S3_REGION_NAME": "eu-west-1"})
    assert cfg["STORAGE_REGION"] == "eu-west-1"
    assert cfg.sources["STORAGE_REGION"] == "AWS_S3_REGION_NAME"
    assert any("AWS_S3_REGION_NAME" in w and "STORAGE_REGION" in w for w in cfg.warnings)


def test_alias_agreeing_with_canonical_name_is_only_a_warning():
    cfg = load({"STORAGE_BUCKET": "media", "AWS_STORAGE_BUCKET_NAME": "media"})
    assert cfg["STORAGE_BUCKET"] == "media"
    assert cfg.sources["STORAGE_BUCKET"] == "STORAGE_BUCKET"
    assert len(cfg.warnings) == 1


def test_two_names_that_disagree_stop_startup_naming_both():
    with pytest.raises(ConfigError) as error:
        load({"STORAGE_REGION": "eu-west-1", "AWS_S3_REGION_NAME": "us-east-1"})
    message = str(error.value)
    assert "AWS_S3_REGION_NAME" in message and "STORAGE_REGION" in message
    assert "disagree" in message


def test_the_platforms_aws_region_gives_way_to_storage_region_with_one_warning():
    cfg = load({"STORAGE_REGION": "auto", "AWS_REGION": "us-east-1"})
    assert cfg["STORAGE_REGION"] == "auto" and cfg.sources["STORAGE_REGION"] == "STORAGE_REGION"
    assert [w for w in cfg.warnings if "AWS_REGION" in w] == [
        "AWS_REGION=us-east-1 (the AWS SDKs' variable, often set by the platform) is not "
        "used for storage: STORAGE_REGION=auto wins"]
    assert load({"R2_REGION": "auto", "AWS_REGION": "us-east-1"})["STORAGE_REGION"] == "auto"


def test_aws_region_alone_is_the_storage_region_without_a_warning():
    cfg = load({"AWS_REGION": "eu-central-1"})
    assert cfg["STORAGE_REGION"] == "eu-central-1" and cfg.warnings == []
    assert config.describe_sources(cfg)["STORAGE_REGION"] == "AWS_REGION (fallback)"


def test_the_seeds_names_are_read_as_moas():
    cfg = load({"DB_NAME": "academy", "DB_USER": "api", "DB_PASSWORD": "p@ss:w/rd",
                "DB_HOST": "db.internal", "DB_PORT": "6432", "R2_BUCKET": "academy-video",
                "R2_REGION": "auto", "R2_PREFIX": "/tenants/moa/",
                "CDN_HLS_BASE_URL": "https://cdn.example.com/",
                "INTERNAL_WORKER_TOKEN": PRODUCTION_WEB["INTERNAL_API_TOKEN"],
                "STORAGE_BACKEND": "s3"})
    assert cfg["DATABASE_URL"] == "postgres://api:p%40ss%3Aw%2Frd@db.internal:6432/academy"
    assert cfg["STORAGE_BUCKET"] == "academy-video" and cfg["STORAGE_REGION"] == "auto"
    assert config.key_prefix(cfg["STORAGE_KEY_PREFIX"]) == "tenants/moa/"
    assert cfg["VIDEO_CDN_BASE_URL"] == "https://cdn.example.com/"
    assert cfg["INTERNAL_API_TOKEN"] == PRODUCTION_WEB["INTERNAL_API_TOKEN"]
    assert load({"VIDEO_BUCKET_NAME": "v"})["STORAGE_BUCKET"] == "v"
    renames = " ".join(cfg.warnings)
    for seed in ("DB_NAME/DB_USER/DB_PASSWORD/DB_HOST/DB_PORT", "R2_BUCKET", "R2_REGION",
                 "R2_PREFIX", "CDN_HLS_BASE_URL", "INTERNAL_WORKER_TOKEN"):
        assert seed in renames, seed


def test_db_pieces_agreeing_with_database_url_in_another_spelling_are_no_conflict():
    cfg = load({"DATABASE_URL": "postgresql://api:pw@DB:5432/academy",
                "DB_NAME": "academy", "DB_USER": "api", "DB_PASSWORD": "pw", "DB_HOST": "db"})
    assert cfg["DATABASE_URL"] == "postgresql://api:pw@DB:5432/academy"


def test_db_pieces_disagreeing_with_database_url_stop_startup_naming_both():
    with pytest.raises(ConfigError) as error:
        load({"DATABASE_URL": "postgres://api:pw@db:5432/academy", "DB_NAME": "other",
              "DB_HOST": "db", "DB_USER": "api", "DB_PASSWORD": "pw"})
    assert "DATABASE_URL and DB_NAME/DB_USER/DB_PASSWORD/DB_HOST" in str(error.value)
    assert "pw" not in str(error.value)  # a secret: named, never shown


def test_db_pieces_without_a_database_name_are_refused():
    with pytest.raises(ConfigError, match="DB_USER, DB_HOST set without DB_NAME"):
        load({"DB_HOST": "db", "DB_USER": "api"})


def test_redis_pieces_without_a_host_are_refused_not_dropped():
    with pytest.raises(ConfigError, match="REDIS_PASSWORD, REDIS_DB set without REDIS_HOST"):
        load({"REDIS_DB": "5", "REDIS_PASSWORD": "pw"})
    with pytest.raises(ConfigError, match="REDIS_URL and REDIS_PASSWORD, REDIS_DB are all "
                                          "set but disagree") as refused:
        load({"REDIS_URL": "redis://:pw@cache:6379/0", "REDIS_DB": "5",
              "REDIS_PASSWORD": "pw"})
    assert "pw@" not in str(refused.value)
    # What platforms export beside the URL, saying the same, starts.
    same = load({"REDIS_URL": "redis://:p%40ss@cache:6380/2", "REDIS_PORT": "6380",
                 "REDIS_PASSWORD": "p@ss", "REDIS_DB": "2"})
    assert same["REDIS_URL"] == "redis://:p%40ss@cache:6380/2"


def test_a_typo_of_moas_name_shaped_like_a_service_link_is_still_warned_about():
    cfg = load({"WORKER_METRIC_PORT": "9200", "METRICS_PORT": "9300",
                "STORAGE_SERVICE_HOST": "minio", "VIDEO_PORT_80_TCP_PORT": "eighty",
                "STORAGE_SERVICE_PORT": "9000", "VIDEO_PORT_80_TCP_PROTO": "tcp",
                "VIDEO_PORT_80_TCP": "tcp://10.0.0.2:80"})
    assert sorted(cfg.warnings) == [
        "METRICS_PORT is set but Moa reads no such name (docs/configuration.md lists "
        "them); it is ignored",
        "STORAGE_SERVICE_HOST is set but Moa reads no such name (docs/configuration.md "
        "lists them); it is ignored",
        "VIDEO_PORT_80_TCP_PORT is set but Moa reads no such name (docs/configuration.md "
        "lists them); it is ignored",
        "WORKER_METRIC_PORT is set but Moa reads no such name; did you mean "
        "WORKER_METRICS_PORT?"]


def test_unread_names_that_look_like_moas_are_warned_about_never_refused():
    cfg = load({"JOB_MAX_ATTEMPTS": "3", "DATABSE_URL": "postgres://x/y", "log_level": "X",
                "MOA_WEB_SERVICE_HOST": "10.0.0.1", "MOA_WEB_PORT": "tcp://10.0.0.1:80",
                "MOA_WEB_PORT_80_TCP_ADDR": "10.0.0.1", "HOME": "/root", "PATH": "/bin",
                "AWS_DEFAULT_REGION": "us-east-1", "EMPTY_": ""})
    assert sorted(cfg.warnings) == [
        "DATABSE_URL is set but Moa reads no such name; did you mean DATABASE_URL?",
        "JOB_MAX_ATTEMPTS is set but Moa reads no such name (docs/configuration.md lists "
        "them); it is ignored",
        "log_level is set but Moa reads no such name; did you mean LOG_LEVEL?"]


@pytest.mark.parametrize("prefix", ["../up", "a/../b", "a b/", "a//b/.."])
def test_a_key_prefix_that_cannot_be_a_folder_is_refused(prefix):
    with pytest.raises(ConfigError, match="STORAGE_KEY_PREFIX"):
        load({"STORAGE_KEY_PREFIX": prefix})


@pytest.mark.parametrize(("env", "reason"), [
    ({**PRODUCTION_WEB, "VIDEO_CDN_BASE_URL": "http://cdn.example.com"}, "https://"),
    ({"VIDEO_CDN_BASE_URL": "cdn.example.com"}, "https://"),
    ({"VIDEO_CDN_BASE_URL": "https://cdn.example.com", "STORAGE_BACKEND": "local"},
     "STORAGE_BACKEND=local"),
])
def test_a_cdn_base_that_cannot_serve_segments_is_refused(env, reason):
    with pytest.raises(ConfigError, match=reason):
        load({"STORAGE_BACKEND": "s3", **env})


def test_two_aliases_disagreeing_without_the_canonical_name_are_an_error():
    with pytest.raises(ConfigError, match="AWS_STORAGE_BUCKET_NAME and R2_VIDEO_BUCKET"):
        load({"AWS_STORAGE_BUCKET_NAME": "a", "R2_VIDEO_BUCKET": "b"})


def test_disagreeing_secrets_are_named_but_never_shown():
    with pytest.raises(ConfigError) as error:
        load({"AWS_SECRET_ACCESS_KEY": "first-secret", "R2_SECRET_KEY": "second-secret"})
    assert "R2_SECRET_KEY" in str(error.value)
    assert "first-secret" not in str(error.value) and "second-secret" not in str(error.value)


def test_a_conflict_never_quotes_the_credentials_or_query_of_a_url():
    with pytest.raises(ConfigError) as error:
        load({"STORAGE_ENDPOINT_URL": "https://AKIAKEY:hunter2@r2.example/b?X-Amz-Signature=sig-s3cr3t",
              "R2_ENDPOINT": "https://r2.other"})
    message = str(error.value)
    assert "https://...@r2.example/b?..." in message and "https://r2.other" in message
    assert not any(secret in message for secret in ("AKIAKEY", "hunter2", "sig-s3cr3t"))


def test_redis_url_is_built_from_its_legacy_pieces():
    cfg = load({"REDIS_HOST": "cache", "REDIS_PORT": "6380", "REDIS_PASSWORD": "p@ss",
                "REDIS_DB": "2"})
    assert cfg["REDIS_URL"] == "redis://:p%40ss@cache:6380/2"
    assert any("REDIS_HOST" in w for w in cfg.warnings)


def test_redis_pieces_disagreeing_with_redis_url_are_an_error():
    with pytest.raises(ConfigError, match="REDIS_URL"):
        load({"REDIS_URL": "redis://other:6379/0", "REDIS_HOST": "cache"})


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as error:
        load({"MOA_ENV": "staging", "STORAGE_BACKEND": "ftp", "DRAIN_SECONDS": "soon"})
    assert len(error.value.problems) == 3


def test_production_web_role_lists_every_missing_name_in_one_error():
    cfg = load({"MOA_ENV": "production"})
    with pytest.raises(ConfigError) as error:
        cfg.require("web")
    message = str(error.value)
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "DATABASE_URL",
                 "REDIS_URL", "STORAGE_BACKEND", "INTERNAL_API_TOKEN", "EMAIL_URL"):
        assert name in message
    assert len(error.value.problems) == 1


def test_worker_role_does_not_need_web_only_names():
    env = {k: v for k, v in PRODUCTION_WEB.items()
           if k not in ("ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "INTERNAL_API_TOKEN")}
    cfg = load(env)
    cfg.require("worker")
    assert set(cfg.missing_for("web")) == {"ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS",
                                           "INTERNAL_API_TOKEN"}


def test_the_worker_needs_email_for_invitations():
    env = {k: v for k, v in PRODUCTION_WEB.items() if k != "EMAIL_URL"}
    assert load(env).missing_for("worker") == ["EMAIL_URL"]


def test_s3_storage_needs_a_bucket():
    env = dict(PRODUCTION_WEB)
    del env["STORAGE_BUCKET"]
    assert load(env).missing_for("worker") == ["STORAGE_BUCKET"]


def test_complete_production_configuration_starts():
    load(PRODUCTION_WEB).require("web")


def test_production_refuses_short_secrets_and_sqlite():
    env = dict(PRODUCTION_WEB, SECRET_KEY="short", DATABASE_URL="sqlite:////tmp/x.db")
    with pytest.raises(ConfigError) as error:
        load(env)
    assert any("SECRET_KEY" in p for p in error.value.problems)
    assert any("PostgreSQL" in p for p in error.value.problems)


@pytest.mark.parametrize("secret", [
    "x" * 60,  # long but only one character (W009: fewer than 5 different)
    "abcd" * 20,
    "django-insecure-" + "q8w7e6r5t4y3u2i1o0p9a8s7d6f5g4h3j2k1",
    "CHANGE-me-to-fifty-random-characters-from-secrets-token-urlsafe",
    "replace-this-with-a-long-random-value-0123456789abcdef",
    "<paste the output of secrets.token_urlsafe(50) here, please>",
    "short-but-random-Zq8rT2",
])
def test_production_refuses_a_weak_or_placeholder_secret(secret):
    for name in ("SECRET_KEY", "INTERNAL_API_TOKEN"):
        with pytest.raises(ConfigError) as error:
            load(dict(PRODUCTION_WEB, **{name: secret}))
        assert any(p.startswith(name) for p in error.value.problems)
        assert secret not in str(error.value)  # a secret is never printed


def test_development_does_not_judge_secrets():
    load({"SECRET_KEY": "dev"})


def test_rate_limit_overrides_are_checked():
    assert config.rate_overrides("signin.ip=30/m, signup.ip=5/2h") == {
        "signin.ip": "30/m", "signup.ip": "5/2h"}
    with pytest.raises(ConfigError) as error:
        load({"RATE_LIMITS": "signin.ip=thirty"})
    assert "RATE_LIMITS" in str(error.value)


def test_blank_values_count_as_unset():
    cfg = load({"DATABASE_URL": "  ", "MOA_ENV": ""})
    assert cfg["DATABASE_URL"] is None and cfg["MOA_ENV"] == "development"


def test_configuration_doc_lists_every_name_and_alias():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", doc))
    for var in config.VARS:
        assert var.name in documented, var.name
        for alias in var.aliases:
            assert alias in documented, alias
        for fallback in var.fallbacks:
            assert fallback in documented, fallback
    for piece in (*config.REDIS_PARTS, *config.DB_PARTS):
        assert piece in documented, piece


@pytest.mark.parametrize("scheme", ["consolemail", "filemail"])
def test_production_refuses_a_mail_backend_that_writes_links_to_logs_or_disk(scheme):
    with pytest.raises(ConfigError) as error:
        load(dict(PRODUCTION_WEB, EMAIL_URL=f"{scheme}://"))
    assert "EMAIL_URL" in str(error.value) and "credentials" in str(error.value)


def test_production_warns_when_no_email_leaves():
    assert any("never arrive" in warning
               for warning in load(dict(PRODUCTION_WEB, EMAIL_URL="dummymail://")).warnings)


def test_cloudwatch_dimensions_are_name_value_pairs_that_leave_moa_its_own():
    assert config.cloudwatch_dimensions(" Environment=production, Service = moa ") == {
        "Environment": "production", "Service": "moa"}
    for raw, says in (("Environment", "expected Name=Value"), ("Kind=video", "set by Moa"),
                      ("A=1,A=2", "given twice"), ("=x", "expected Name=Value")):
        with pytest.raises(ConfigError) as error:
            load({"CLOUDWATCH_DIMENSIONS": raw})
        assert "CLOUDWATCH_DIMENSIONS" in str(error.value) and says in str(error.value), raw
    with pytest.raises(ConfigError):
        load({"CLOUDWATCH_INTERVAL_SECONDS": "a minute"})


def test_cloudwatch_settings_without_a_namespace_publish_nothing_and_say_so():
    cfg = load({"CLOUDWATCH_REGION": "eu-west-1"})
    assert any("CLOUDWATCH_REGION" in warning and "CLOUDWATCH_NAMESPACE" in warning
               for warning in cfg.warnings)
    assert not load({"CLOUDWATCH_REGION": "eu-west-1", "CLOUDWATCH_NAMESPACE": "Moa"}).warnings


@pytest.mark.parametrize(("name", "value"), [
    ("METRICS_ENABLED", "yes"), ("WORKER_METRICS_PORT", "70000"),
    ("WORKER_METRICS_PORT", "-1"), ("METRICS_BIND", "localhost"),
])
def test_metrics_settings_that_cannot_work_are_refused_by_name(name, value):
    with pytest.raises(ConfigError) as error:
        load({name: value})
    assert name in str(error.value)


def test_metrics_are_on_with_a_worker_listener_on_the_loopback_by_default():
    cfg = load({})
    assert (cfg["METRICS_ENABLED"], cfg["WORKER_METRICS_PORT"], cfg["METRICS_BIND"]) == \
        ("1", "9102", "127.0.0.1")


def test_maintenance_periods_default_to_daily_and_hourly_and_read_units():
    periods = config.maintenance_periods(load({}))
    assert periods == {"trim_op_log": 3600, "purge_unverified_users": 86400,
                       "purge_deleted_users": 86400, "purge_video_originals": 86400,
                       "sweep_uploads": 3600}
    cfg = load({"MAINTENANCE_TRIM_OP_LOG_EVERY": "90", "MAINTENANCE_SWEEP_UPLOADS_EVERY": "15m",
                "MAINTENANCE_PURGE_DELETED_USERS_EVERY": "OFF",
                "MAINTENANCE_PURGE_VIDEO_ORIGINALS_EVERY": "2d"})
    periods = config.maintenance_periods(cfg)
    assert (periods["trim_op_log"], periods["sweep_uploads"], periods["purge_deleted_users"],
            periods["purge_video_originals"]) == (90, 900, None, 2 * 86400)


@pytest.mark.parametrize("value", ["0", "1w", "-5", "hourly", "1.5h", "1 h"])
def test_a_maintenance_period_that_is_none_is_refused_by_name(value):
    with pytest.raises(ConfigError) as error:
        load({"MAINTENANCE_SWEEP_UPLOADS_EVERY": value})
    assert "MAINTENANCE_SWEEP_UPLOADS_EVERY: expected a period such as 3600, 90s, 15m, 1h " \
           "or 1d" in str(error.value)
    assert repr(value) in str(error.value)


def test_a_maintenance_name_moa_does_not_read_is_warned_about():
    cfg = load({"MAINTENANCE_VACUUM_EVERY": "1d"})
    assert cfg.warnings == ["MAINTENANCE_VACUUM_EVERY is set but Moa reads no such name "
                            "(docs/configuration.md lists them); it is ignored"]


@pytest.mark.parametrize("value", ["0", "-1", "thirty"])
def test_a_purge_retention_below_a_day_is_refused_by_name(value):
    with pytest.raises(ConfigError, match=f"MAINTENANCE_PURGE_DELETED_USERS_DAYS must be a "
                                          f"whole number of days, at least 1, not '{value}'"):
        load({"MAINTENANCE_PURGE_DELETED_USERS_DAYS": value})

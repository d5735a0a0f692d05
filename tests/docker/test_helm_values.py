"""docker/helm/values.yaml for the official Airflow chart, checked offline: every key is one the chart has
(tests/docker/chart_keys.yaml says where each was seen), validated with jsonschema; Celery with KEDA and a
render worker set; external PostgreSQL, S3 storage and every secret from Kubernetes secrets; the project's
airflow.cfg repeated in `config`. Not checked here: the chart's own values.schema.json, `helm template`."""

from __future__ import annotations

import configparser
import re

import jsonschema
import pytest
import yaml

from pipelines.paths import REPO

VALUES = yaml.safe_load((REPO / "docker" / "helm" / "values.yaml").read_text())
KEYS = yaml.safe_load((REPO / "tests" / "docker" / "chart_keys.yaml").read_text())


def _schema() -> dict:
    """A JSON Schema allowing exactly the known keys (objects closed, free-form maps and leaves open)."""
    root: dict = {"type": "object", "properties": {}, "additionalProperties": False}
    free = set(KEYS["freeform"])
    for path in sorted({p for paths in KEYS["known"].values() for p in paths} | free):
        node = root
        parts = path.split(".")
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            child = node["properties"].setdefault(
                part, {} if last else {"type": "object", "properties": {}, "additionalProperties": False}
            )
            if last and path in free:
                child.update({"type": "object"})
            node = child
    sets = root["properties"]["workers"]["properties"]["celery"]["properties"]["sets"]
    sets.update(
        {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "queue"],
                "properties": {k: {} for k in KEYS["set_keys"]},
                "additionalProperties": False,
            },
        }
    )
    return root


def test_every_key_is_one_the_chart_has():
    jsonschema.Draft7Validator.check_schema(_schema())
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator().iter_errors(VALUES)]
    assert not errors, errors


def _validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(_schema())


def test_the_key_check_catches_a_misspelt_key():
    bad = {**VALUES, "workers": {"celery": {**VALUES["workers"]["celery"], "kedaa": {"enabled": True}}}}
    assert any("kedaa" in e.message for e in _validator().iter_errors(bad))


def test_celery_on_airflow_3_3_2_with_our_image():
    assert VALUES["executor"] == "CeleryExecutor"
    assert VALUES["airflowVersion"] == VALUES["defaultAirflowTag"] == "3.3.2"
    assert VALUES["images"]["airflow"]["tag"].startswith("3.3.2")
    assert VALUES["images"]["airflow"]["repository"] != "apache/airflow"


def test_keda_scales_the_default_workers_and_renders_have_their_own_fixed_set():
    celery = VALUES["workers"]["celery"]
    assert celery["keda"]["enabled"] is True
    assert celery["keda"]["maxReplicaCount"] > celery["keda"]["minReplicaCount"] >= 1
    assert isinstance(VALUES["config"]["celery"]["worker_concurrency"], int)  # KEDA's divisor
    (render,) = [s for s in celery["sets"] if s["name"] == "render"]
    assert render["queue"] == "render"
    assert render["keda"]["enabled"] is False and render["replicas"] >= 1
    assert {"name": "AIRFLOW__CELERY__WORKER_CONCURRENCY", "value": "1"} in render["env"]


def test_external_postgres_and_every_secret_from_kubernetes_secrets():
    assert VALUES["postgresql"]["enabled"] is False
    assert VALUES["data"]["metadataSecretName"]
    for key in ("fernetKeySecretName", "jwtSecretName", "apiSecretKeySecretName"):
        assert VALUES[key], key
    from_secrets = {s["envName"]: s for s in VALUES["secret"]}
    assert from_secrets["DATABASE_URL"]["secretName"] and from_secrets["DATABASE_URL"]["secretKey"]
    refs = yaml.safe_load(VALUES["extraEnvFrom"])
    assert {r["secretRef"]["name"] for r in refs} == {"nicheflow-connections", "nicheflow-youtube"}
    mounted = {v["name"]: v for v in VALUES["apiServer"]["extraVolumes"]}
    assert mounted["nicheflow-logins"]["secret"]["secretName"] == "nicheflow-logins"


def test_s3_storage_through_a_connection_from_a_secret():
    env = {e["name"]: e["value"] for e in VALUES["env"]}
    url = env["NICHEFLOW_STORAGE_URL"]
    conn_id = re.fullmatch(r"s3://([a-z0-9_]+)@[a-z0-9.-]+/.+", url).group(1)
    from_secrets = {s["envName"] for s in VALUES["secret"]}
    assert f"AIRFLOW_CONN_{conn_id.upper()}" in from_secrets
    assert VALUES["config"]["logging"]["remote_log_conn_id"] == conn_id


def _strings(node, path=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _strings(v, f"{path}[{i}]")
    elif isinstance(node, str):
        yield path, node


def test_no_secret_value_in_the_file():
    text = (REPO / "docker" / "helm" / "values.yaml").read_text()
    for key in ("fernetKey", "jwtSecret", "apiSecretKey", "webserverSecretKey"):
        assert key not in VALUES, f"{key}: put it in a secret and name it in {key}SecretName"
    for path, value in _strings(VALUES):
        leaf = path.rsplit(".", 1)[-1]
        if leaf in ("secretKey", "secretName"):  # which secret, and which key in it: names, not values
            continue
        if re.search(r"(?i)(password|passwd|pass|token|secret|fernet_?key|api_?key|secret_?key)$", leaf):
            pytest.fail(f"{path} looks like a secret value")
        assert not re.search(r"://[^/\s:@]+:[^/\s@]+@", value), f"{path} has credentials in a URL"
    env_names = [e["name"] for e in VALUES["env"]]
    assert not [n for n in env_names if re.search(r"KEY|SECRET|PASSWORD|TOKEN|AIRFLOW_CONN_", n)]
    assert "BEGIN" not in text


def test_the_project_settings_of_airflow_cfg_are_repeated_in_config():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "airflow.cfg")
    # the chart sets these itself: the executor, the api-server's address, port and worker processes
    chart_owned = {("core", "executor"), ("api", "host"), ("api", "port"), ("api", "workers")}
    overridden = {("core", "parallelism")}  # a cluster runs more at once than one machine
    config = VALUES["config"]
    for section in cfg.sections():
        for key, value in cfg.items(section):
            if (section, key) in chart_owned | overridden:
                continue
            assert str(config.get(section, {}).get(key)) == value, f"[{section}] {key}"


def test_the_migration_job_runs_the_project_migrations_after_airflows_and_makes_the_render_pool():
    script = " ".join(VALUES["migrateDatabaseJob"]["args"])
    assert script.index("airflow db migrate") < script.index("nicheflow db")
    (render,) = [s for s in VALUES["workers"]["celery"]["sets"] if s["name"] == "render"]
    slots = re.search(r"airflow pools set render (\d+) ", script)
    assert slots and int(slots.group(1)) == render["replicas"]  # one render per render pod
    assert VALUES["createUserJob"]["enabled"] is False  # FAB's `users create`; logins are a secret

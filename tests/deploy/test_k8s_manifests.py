"""Every overlay of deploy/k8s renders, each object is valid Kubernetes 1.30, and the properties
an operator relies on hold: probes on the right port, non-root, resources, a disruption budget,
an autoscaler and a migration Job per service, and no secret value in the repository.

Offline: tools/kustomize.py renders (no kustomize binary here) and kubernetes-validate carries
the API's JSON schemas. A `kustomize` on PATH is compared with the renderer as well."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped,unused-ignore]
from kubernetes_validate import utils as kubernetes_schemas
from sqlalchemy.engine import make_url

from libs import registry
from libs.messaging.topics import partitions_of
from tools.kustomize import identity, render

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(path.name for path in (K8S / "overlays").iterdir() if path.is_dir())
DOCS = ROOT / "docs" / "deploy-kubernetes.md"
# The oldest Kubernetes the manifests must be valid for (a supported release when written).
KUBERNETES_VERSION = "1.30.0"
IMAGE = "ghcr.io/oms/oms"

# An environment variable with one of these in its name holds a secret: never a literal value.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY|JWKS", re.IGNORECASE)
VARIABLE_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")

Object = dict[str, Any]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> list[Object]:
    return render(K8S / "overlays" / request.param)


def of_kind(objects: list[Object], kind: str) -> dict[str, Object]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def pod_templates(objects: list[Object]) -> Iterator[tuple[Object, Object]]:
    """(owner, pod spec) of every Deployment and Job."""
    for obj in objects:
        if obj["kind"] in ("Deployment", "Job"):
            yield obj, obj["spec"]["template"]["spec"]


def config_maps(objects: list[Object]) -> dict[str, Mapping[str, str]]:
    return {name: cm.get("data", {}) for name, cm in of_kind(objects, "ConfigMap").items()}


def probe_target(container: Object, probe: str) -> tuple[str, int]:
    """The path and the port number a probe asks (a named port resolved to its number)."""
    get = container[probe]["httpGet"]
    port = get["port"]
    if isinstance(port, str):
        (port,) = [p["containerPort"] for p in container["ports"] if p["name"] == port]
    return get["path"], port


def test_the_overlays_are_dev_and_prod() -> None:
    assert OVERLAYS == ["dev", "prod"]


def test_every_object_is_valid_kubernetes(rendered: list[Object]) -> None:
    failures = []
    for obj in rendered:
        try:
            kubernetes_schemas.validate(obj, KUBERNETES_VERSION, strict=True)
        except (kubernetes_schemas.ValidationError, kubernetes_schemas.SchemaNotFoundError) as exc:
            failures.append(f"{identity(obj)}: {exc.message}")
    assert not failures, "\n".join(failures)


def test_the_validation_is_strict() -> None:
    """A misspelled field fails (strict schemas forbid unknown properties), so the test above
    would catch one in the manifests."""
    deployment = of_kind(render(K8S / "overlays" / "prod"), "Deployment")["order-capture"]
    misspelled = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_schemas.ValidationError):
        kubernetes_schemas.validate(misspelled, KUBERNETES_VERSION, strict=True)


def test_one_deployment_per_service_on_its_port_with_its_probes(rendered: list[Object]) -> None:
    deployments = of_kind(rendered, "Deployment")
    assert set(deployments) == {s.deploy_name for s in registry.SERVICES}
    for service in registry.SERVICES:
        deployment = deployments[service.deploy_name]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["python", "-m", service.package]
        assert [port["containerPort"] for port in container["ports"]] == [service.port]
        assert probe_target(container, "readinessProbe") == ("/readyz", service.port)
        assert probe_target(container, "livenessProbe") == ("/healthz", service.port)
        env = {entry["name"]: entry for entry in container["env"]}
        assert env[f"{service.env_prefix}_HTTP_PORT"]["value"] == str(service.port)
        assert env[f"{service.env_prefix}_HTTP_HOST"]["value"] == "0.0.0.0"
        # The autoscaler owns the count: an apply must not reset it.
        assert "replicas" not in deployment["spec"]


def test_a_kubernetes_service_per_service_reaches_its_port(rendered: list[Object]) -> None:
    deployments = of_kind(rendered, "Deployment")
    services = of_kind(rendered, "Service")
    for service in registry.SERVICES:
        kube_service = services[service.deploy_name]
        labels = deployments[service.deploy_name]["spec"]["template"]["metadata"]["labels"]
        assert kube_service["spec"]["selector"].items() <= labels.items()
        (port,) = kube_service["spec"]["ports"]
        assert port["port"] == service.port


def test_every_pod_runs_as_non_root_read_only_with_requests_and_limits(
    rendered: list[Object],
) -> None:
    for owner, pod in pod_templates(rendered):
        where = identity(owner)
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["runAsUser"] != 0, where
        assert pod["automountServiceAccountToken"] is False, where
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) == {"cpu", "memory"}, where


def test_every_deployment_has_a_disruption_budget_and_an_autoscaler(
    rendered: list[Object],
) -> None:
    budgets = list(of_kind(rendered, "PodDisruptionBudget").values())
    autoscalers = list(of_kind(rendered, "HorizontalPodAutoscaler").values())
    for name, deployment in of_kind(rendered, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        covering = [
            b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(covering) == 1, f"{name}: {len(covering)} disruption budgets"
        scaling = [
            a
            for a in autoscalers
            if a["spec"]["scaleTargetRef"]
            == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        ]
        assert len(scaling) == 1, f"{name}: {len(scaling)} autoscalers"
        spec = scaling[0]["spec"]
        # Past one pod per partition, a pod's consumer gets no partition to read.
        most_useful = max(partitions_of(t) for t in registry.service(name).consumes)
        assert 1 <= spec["minReplicas"] <= spec["maxReplicas"] <= most_useful, name


def test_a_migration_job_per_service_with_its_own_database_only(rendered: list[Object]) -> None:
    jobs = of_kind(rendered, "Job")
    for service in registry.SERVICES:
        job = jobs[f"{service.deploy_name}-migrate"]
        (container,) = job["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["python", "-m", "libs.db.migrate", service.name]
        database_urls = {e["name"] for e in container["env"] if e["name"].endswith("_DATABASE_URL")}
        assert database_urls == {f"{service.env_prefix}_DATABASE_URL"}
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_every_container_runs_the_overlays_pinned_image(rendered: list[Object]) -> None:
    images = {c["image"] for _, pod in pod_templates(rendered) for c in pod["containers"]}
    (image,) = images
    name, _, tag = image.partition(":")
    assert name == IMAGE and tag and tag != "latest"


def test_no_secret_value_is_in_the_repository(rendered: list[Object]) -> None:
    assert not of_kind(rendered, "Secret"), "Secrets are created in the cluster, never committed"
    for name, data in config_maps(rendered).items():
        assert not [key for key in data if SECRET_NAME.search(key)], name
    for owner, pod in pod_templates(rendered):
        for container in pod["containers"]:
            for entry in container.get("env", []):
                where = (identity(owner), entry["name"])
                if SECRET_NAME.search(entry["name"]):
                    assert "value" not in entry, where
                if entry["name"].endswith("_DATABASE_URL"):
                    url = make_url(entry["value"])
                    assert (url.username, url.password) == ("$(DB_USER)", "$(DB_PASSWORD)"), where


def test_every_variable_reference_resolves(rendered: list[Object]) -> None:
    """Kubernetes leaves a `$(NAME)` it cannot resolve as it is, so a misspelt one would start
    a service with a literal `$(OMS_ENVV)`: each must name a variable defined before it."""
    maps = config_maps(rendered)
    for owner, pod in pod_templates(rendered):
        for container in pod["containers"]:
            defined = {
                key
                for source in container.get("envFrom", [])
                for key in maps[source["configMapRef"]["name"]]
            }
            for entry in container.get("env", []):
                for name in VARIABLE_REFERENCE.findall(entry.get("value", "")):
                    assert name in defined, (identity(owner), entry["name"], name)
                defined.add(entry["name"])


def test_every_referenced_secret_is_named_in_the_docs(rendered: list[Object]) -> None:
    """What the operator must create before applying: the deployment guide lists each one."""
    guide = DOCS.read_text(encoding="utf-8")
    for _, pod in pod_templates(rendered):
        for container in pod["containers"]:
            for entry in container.get("env", []):
                secret = entry.get("valueFrom", {}).get("secretKeyRef")
                if secret:
                    named = secret["name"]
                    generic = re.sub(
                        "|".join(s.deploy_name for s in registry.SERVICES), "<service>", named
                    )
                    assert f"`{named}`" in guide or f"`{generic}`" in guide, named


@pytest.mark.skipif(shutil.which("kustomize") is None, reason="no kustomize binary on PATH")
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_renderer_agrees_with_kustomize(overlay: str) -> None:
    built = subprocess.run(
        ["kustomize", "build", str(K8S / "overlays" / overlay)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    theirs = {identity(obj): obj for obj in yaml.safe_load_all(built) if obj}
    ours = {identity(obj): obj for obj in render(K8S / "overlays" / overlay)}
    assert ours == theirs

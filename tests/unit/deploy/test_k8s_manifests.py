"""deploy/k8s: every manifest is valid against the Kubernetes schemas of the version we support
(kubernetes-validate bundles them: no cluster, no network), kustomize lists files that exist, and
what the manifests promise holds (probes, resources, grace periods that outlast the drains,
disruption budgets, the NetworkPolicy, env var names the services actually read)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.unit.deploy._settings import known_env_names

K8S = Path(__file__).resolve().parents[3] / "deploy" / "k8s"
# The oldest minor version the manifests must be valid for (managed clusters still run it).
KUBERNETES_VERSION = "1.33"
# Files kept out of kustomization.yaml on purpose, validated all the same.
NOT_APPLIED = {"secret.template.yaml", "ingress.example.yaml"}


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomization() -> dict[str, Any]:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


def applied() -> list[dict[str, Any]]:
    return [doc for name in kustomization()["resources"] for doc in documents(K8S / name)]


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in applied() if doc["kind"] == kind}


def config() -> dict[str, str]:
    return of_kind("ConfigMap")["poolgate-config"]["data"]


MANIFESTS = sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


@pytest.mark.parametrize("name", MANIFESTS)
def test_every_manifest_is_valid_against_the_kubernetes_schema(name: str) -> None:
    for doc in documents(K8S / name):
        # strict: an unknown field (a typo) is an error, not silently dropped by the API server.
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_validator_refuses_a_broken_manifest() -> None:
    broken = documents(K8S / "proxy-service.yaml")[0]
    broken["spec"]["template"]["spec"]["terminationGracePeriod"] = 60  # misspelt
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_and_only_files_that_exist() -> None:
    listed = kustomization()["resources"]
    assert len(listed) == len(set(listed))
    assert all((K8S / name).is_file() for name in listed), listed
    assert set(listed) == set(MANIFESTS) - NOT_APPLIED


def test_every_deployment_has_probes_resources_and_a_service_and_a_disruption_budget() -> None:
    services = of_kind("Service")
    budgets = [b["spec"]["selector"]["matchLabels"] for b in of_kind("PodDisruptionBudget").values()]
    deployments = of_kind("Deployment")
    assert set(deployments) == {
        "poolgate-proxy-service",
        "poolgate-account-service",
        "poolgate-refresh-worker",
    }
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert probe in container, f"{name} has no {probe}"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"  # never restarted for a dependency
        assert {"requests", "limits"} <= container["resources"].keys(), name
        assert any(s["spec"]["selector"].items() <= labels.items() for s in services.values()), name
        assert any(b.items() <= labels.items() for b in budgets), f"{name} has no PodDisruptionBudget"


def _grace_period(deployment: str) -> int:
    return of_kind("Deployment")[deployment]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]


def test_the_proxys_grace_period_outlasts_its_readiness_grace_and_drain_timeout() -> None:
    from services.proxy_service.settings import ProxySettings

    drain = ("POOLGATE_PROXY_SHUTDOWN_GRACE_S", "POOLGATE_PROXY_DRAIN_TIMEOUT_S")
    settings = ProxySettings(**{name.removeprefix("POOLGATE_").lower(): config()[name] for name in drain})
    # After the drain deadline: uvicorn's own margin (5 s, services/proxy_service/__main__.py) and the
    # lifespan's last usage events and lease releases.
    needed = (
        settings.proxy_shutdown_grace_s + settings.proxy_drain_timeout_s + 5 + settings.usage_drain_timeout_s
    )
    assert _grace_period("poolgate-proxy-service") > needed
    deployment = of_kind("Deployment")["poolgate-proxy-service"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    readiness = container["readinessProbe"]
    # Kubernetes sees the failed /readyz before the grace ends and the proxy stops taking calls.
    assert readiness["periodSeconds"] * readiness["failureThreshold"] < settings.proxy_shutdown_grace_s


@pytest.mark.parametrize("deployment", ["poolgate-account-service", "poolgate-refresh-worker"])
def test_a_consumers_grace_period_outlasts_uvicorns_wait_and_its_message_drain(deployment: str) -> None:
    drain = float(config()["POOLGATE_CONSUMER_DRAIN_TIMEOUT_S"])
    [container] = of_kind("Deployment")[deployment]["spec"]["template"]["spec"]["containers"]
    pre_stop = 5 if "lifecycle" in container else 0
    assert _grace_period(deployment) > pre_stop + 10 + drain  # 10: shared/serve.py's default


def test_the_proxy_is_scaled_by_its_hpa_and_not_by_a_fixed_replica_count() -> None:
    [hpa] = of_kind("HorizontalPodAutoscaler").values()
    assert hpa["spec"]["scaleTargetRef"]["name"] == "poolgate-proxy-service"
    assert "replicas" not in of_kind("Deployment")["poolgate-proxy-service"]["spec"]
    assert hpa["spec"]["minReplicas"] >= 2


def test_only_poolgate_pods_and_the_ingress_controller_reach_account_service() -> None:
    [policy] = of_kind("NetworkPolicy").values()
    account = of_kind("Deployment")["poolgate-account-service"]
    assert policy["spec"]["podSelector"]["matchLabels"] == account["spec"]["selector"]["matchLabels"]
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    peers = [peer for rule in policy["spec"]["ingress"] for peer in rule["from"]]
    own = {"app.kubernetes.io/name": "poolgate"}
    assert {"podSelector": {"matchLabels": own}} in peers
    for name, deployment in of_kind("Deployment").items():  # every PoolGate pod carries that label
        assert own.items() <= deployment["spec"]["template"]["metadata"]["labels"].items(), name
    others = [peer for peer in peers if "podSelector" not in peer]
    assert others == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    ]


def test_the_example_ingress_never_routes_the_internal_api_or_metrics_to_account_service() -> None:
    [ingress] = [d for d in documents(K8S / "ingress.example.yaml") if d["kind"] == "Ingress"]
    routes = {
        path["path"]: path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    for path in ("/internal", "/metrics", "/readyz", "/healthz"):
        assert routes[path] == "poolgate-blocked"
    assert routes["/v1"] == "poolgate-proxy-service"


def _env_names() -> dict[str, str]:
    """Every POOLGATE_ name the manifests set, with the file that sets it."""
    names: dict[str, str] = {}
    for path in K8S.glob("*.yaml"):
        for doc in documents(path):
            data = {**(doc.get("data") or {}), **(doc.get("stringData") or {})}
            names.update(dict.fromkeys(data, path.name))
            if doc["kind"] in ("Deployment", "Job"):
                for container in doc["spec"]["template"]["spec"]["containers"]:
                    names.update({e["name"]: path.name for e in container.get("env", [])})
    return {name: where for name, where in names.items() if name.startswith("POOLGATE_")}


def test_every_env_var_the_manifests_set_is_a_setting_a_service_reads() -> None:
    names = _env_names()
    assert {"POOLGATE_DATABASE_URL", "POOLGATE_PROXY_DRAIN_TIMEOUT_S"} <= names.keys()
    unknown = {name: where for name, where in names.items() if name not in known_env_names()}
    assert unknown == {}, "renamed or misspelt settings"


def test_the_secret_template_sets_every_secret_setting() -> None:
    [secret] = documents(K8S / "secret.template.yaml")
    assert {
        "POOLGATE_DATABASE_URL",
        "POOLGATE_REDIS_URL",
        "POOLGATE_AMQP_URL",
        "POOLGATE_SECRET_KEYS",
        "POOLGATE_SERVICE_TOKEN",
    } == set(secret["stringData"])
    assert all("REPLACE_ME" in value for value in secret["stringData"].values())

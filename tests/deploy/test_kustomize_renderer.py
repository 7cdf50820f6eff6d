"""tools/kustomize.py: each kustomize feature it renders, with kustomize's meaning, and a refusal
for what it does not render (so an overlay can never silently lose a field)."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from tools.kustomize import KustomizeError, render, strategic_merge

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  labels:
    app: api
spec:
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:
      initContainers:
        - name: wait
          image: ghcr.io/oms/oms:1
      containers:
        - name: api
          image: ghcr.io/oms/oms
          args: ["--one", "--two"]
          env:
            - name: A
              value: "1"
            - name: B
              value: "2"
        - name: sidecar
          image: registry.local:5000/tools/proxy:7
"""

NAMESPACE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
"""


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text))
    return directory


def overlay(tmp_path: Path, kustomization: str, **files: str) -> Path:
    write(
        tmp_path / "base",
        {
            "kustomization.yaml": "resources:\n  - app.yaml\n  - ns.yaml\n",
            "app.yaml": DEPLOYMENT,
            "ns.yaml": NAMESPACE,
        },
    )
    return write(tmp_path / "overlay", {"kustomization.yaml": kustomization, **files})


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [obj for obj in objects if obj["kind"] == kind]
    return found


def test_a_base_renders_as_its_files_say(tmp_path: Path) -> None:
    objects = render(overlay(tmp_path, "resources:\n  - ../base\n"))
    assert [obj["kind"] for obj in objects] == ["Deployment", "Namespace"]
    assert by_kind(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "ghcr.io/oms/oms"
    )


def test_namespace_goes_on_namespaced_objects_only(tmp_path: Path) -> None:
    objects = render(overlay(tmp_path, "resources: [../base]\nnamespace: oms\n"))
    assert by_kind(objects, "Deployment")["metadata"]["namespace"] == "oms"
    assert "namespace" not in by_kind(objects, "Namespace")["metadata"]


def test_labels_go_on_metadata_and_never_on_selectors(tmp_path: Path) -> None:
    objects = render(
        overlay(tmp_path, "resources: [../base]\nlabels:\n  - pairs: {team: orders}\n")
    )
    deployment = by_kind(objects, "Deployment")
    assert deployment["metadata"]["labels"] == {"app": "api", "team": "orders"}
    assert by_kind(objects, "Namespace")["metadata"]["labels"] == {"team": "orders"}
    assert deployment["spec"]["selector"]["matchLabels"] == {"app": "api"}
    assert deployment["spec"]["template"]["metadata"]["labels"] == {"app": "api"}


def test_images_change_every_container_of_that_name_only(tmp_path: Path) -> None:
    objects = render(
        overlay(
            tmp_path,
            "resources: [../base]\nimages:\n  - {name: ghcr.io/oms/oms, newTag: '0.2.0'}\n"
            "  - {name: registry.local:5000/tools/proxy, newName: mirror/proxy}\n",
        )
    )
    pod = by_kind(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["initContainers"][0]["image"] == "ghcr.io/oms/oms:0.2.0"
    assert pod["containers"][0]["image"] == "ghcr.io/oms/oms:0.2.0"
    assert pod["containers"][1]["image"] == "mirror/proxy:7"


def test_an_image_digest_replaces_the_tag(tmp_path: Path) -> None:
    objects = render(
        overlay(
            tmp_path,
            "resources: [../base]\nimages:\n  - {name: ghcr.io/oms/oms, digest: 'sha256:ab'}\n",
        )
    )
    pod = by_kind(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["initContainers"][0]["image"] == "ghcr.io/oms/oms@sha256:ab"


def test_a_patch_merges_containers_and_env_by_name(tmp_path: Path) -> None:
    patch = """\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: api
    spec:
      template:
        spec:
          containers:
            - name: api
              args: ["--three"]
              env:
                - name: B
                  value: "20"
                - name: C
                  value: "3"
    """
    objects = render(
        overlay(tmp_path, "resources: [../base]\npatches:\n  - path: p.yaml\n", **{"p.yaml": patch})
    )
    api, sidecar = by_kind(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert api["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "20"},
        {"name": "C", "value": "3"},
    ]
    # A list without a merge key is replaced, as Kubernetes' strategic merge does.
    assert api["args"] == ["--three"]
    assert api["image"] == "ghcr.io/oms/oms"
    assert sidecar["name"] == "sidecar"


def test_a_patch_file_of_several_documents_patches_each_object(tmp_path: Path) -> None:
    patch = """\
    apiVersion: v1
    kind: Namespace
    metadata:
      name: shop
      labels: {tier: a}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: api
      labels: {tier: b}
    """
    objects = render(
        overlay(tmp_path, "resources: [../base]\npatches:\n  - path: p.yaml\n", **{"p.yaml": patch})
    )
    assert by_kind(objects, "Namespace")["metadata"]["labels"] == {"tier": "a"}
    assert by_kind(objects, "Deployment")["metadata"]["labels"] == {"app": "api", "tier": "b"}


def test_null_in_a_patch_removes_the_key() -> None:
    assert strategic_merge({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": None}}) == {
        "a": 1,
        "b": {"d": 3},
    }


def test_a_patch_that_matches_nothing_is_refused(tmp_path: Path) -> None:
    patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: nope\n"
    with pytest.raises(KustomizeError, match="matches 0 objects"):
        render(
            overlay(
                tmp_path, "resources: [../base]\npatches:\n  - path: p.yaml\n", **{"p.yaml": patch}
            )
        )


@pytest.mark.parametrize(
    "kustomization",
    [
        "resources: [../base]\nnamePrefix: x-\n",
        "resources: [../base]\ncommonLabels: {a: b}\n",
        "resources: [../base]\nconfigMapGenerator: []\n",
        "resources: [../base]\nlabels:\n  - pairs: {a: b}\n    includeSelectors: true\n",
        "resources: [../base]\nimages:\n  - {name: x, newTag: '1', tagSuffix: y}\n",
        "resources: [../base]\npatches:\n  - path: p.yaml\n    target: {kind: Deployment}\n",
    ],
)
def test_what_it_does_not_render_is_refused(tmp_path: Path, kustomization: str) -> None:
    with pytest.raises(KustomizeError):
        render(overlay(tmp_path, kustomization, **{"p.yaml": NAMESPACE}))


def test_strategic_merge_directives_are_refused() -> None:
    with pytest.raises(KustomizeError):
        strategic_merge({"a": {"b": 1}}, {"a": {"$patch": "replace"}})


def test_the_same_object_twice_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"kustomization.yaml": "resources: [a.yaml, b.yaml]\n"})
    write(tmp_path, {"a.yaml": NAMESPACE, "b.yaml": NAMESPACE})
    with pytest.raises(KustomizeError, match="twice"):
        render(tmp_path)


def test_a_missing_resource_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"kustomization.yaml": "resources: [gone.yaml]\n"})
    with pytest.raises(KustomizeError, match="not found"):
        render(tmp_path)

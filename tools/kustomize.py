"""A small kustomize renderer for deploy/k8s/: `python -m tools.kustomize deploy/k8s/overlays/prod`.

No kustomize or kubectl binary can be installed on the development machines (Debian's
`kubernetes-client` is kubectl 1.20, whose embedded kustomize 2.0 predates `patches:` and
`labels:`), and the test suite must render the overlays offline. So this renders exactly the
subset of kustomization.yaml that the manifests use, and refuses any other field rather than
ignoring it: what it prints is what `kubectl kustomize <dir>` prints, as a set of objects (the
order of the documents may differ; compare them as objects).

Supported, with kustomize's meaning:
- `resources`: YAML files (one or more documents) and directories holding a kustomization.yaml,
  rendered first (a base);
- `namespace`: set on every namespaced object;
- `labels`: `pairs` added to every object's metadata.labels (`includeSelectors` and
  `includeTemplates` false only: selectors are immutable, and the pod templates carry their own);
- `images`: `name` with `newName`, `newTag` and/or `digest`, applied to every container and init
  container image of that name;
- `patches`: `path` to a file of strategic merge patches (one or more documents), each applied
  to the object of its kind and name. The merge follows Kubernetes' strategic merge for the
  lists the manifests patch (containers and env by name, ports by containerPort...); any other
  list is replaced, and `null` removes a key.
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped,unused-ignore]

KUSTOMIZATION_FILE = "kustomization.yaml"
SUPPORTED_FIELDS = frozenset(
    {"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"}
)

# Kinds that live outside any namespace (the ones the manifests could plausibly use).
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "PriorityClass",
        "StorageClass",
    }
)

# Strategic merge: the lists Kubernetes merges item by item, and the key that pairs the items
# (the patchMergeKey of the field in the API's schema). Any list not named here is replaced.
MERGE_KEYS: Mapping[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
}

Object = dict[str, Any]


class KustomizeError(Exception):
    """The kustomization uses a feature this renderer does not have, or is inconsistent."""


def render(directory: Path) -> list[Object]:
    """The objects `kubectl kustomize <directory>` would print."""
    kustomization = _load_kustomization(directory)
    objects: list[Object] = []
    for entry in kustomization.get("resources", []):
        objects.extend(_resource(directory, entry))
    _refuse_duplicates(objects, directory)
    for patch_entry in kustomization.get("patches", []):
        _apply_patches(objects, directory, patch_entry)
    namespace = kustomization.get("namespace")
    if namespace is not None:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED_KINDS:
                obj["metadata"]["namespace"] = namespace
    for label_entry in kustomization.get("labels", []):
        _add_labels(objects, label_entry)
    for image in kustomization.get("images", []):
        _set_image(objects, image)
    return objects


def identity(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    """(kind, namespace, name): what kustomize matches and de-duplicates objects by."""
    metadata = obj.get("metadata") or {}
    return (str(obj.get("kind")), str(metadata.get("namespace", "")), str(metadata.get("name")))


def strategic_merge(target: Any, patch: Any, field: str = "") -> Any:
    """`patch` merged into `target` (a new value; neither argument is changed)."""
    if isinstance(patch, dict) and isinstance(target, dict):
        if "$patch" in patch or any(key.startswith("$") for key in patch):
            raise KustomizeError(f"{field or 'patch'}: strategic merge directives unsupported")
        merged = copy.deepcopy(target)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = strategic_merge(merged[key], value, key)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    if isinstance(patch, list) and isinstance(target, list) and field in MERGE_KEYS:
        return _merge_list(target, patch, MERGE_KEYS[field], field)
    return copy.deepcopy(patch)


def _merge_list(target: list[Any], patch: list[Any], key: str, field: str) -> list[Any]:
    merged = copy.deepcopy(target)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise KustomizeError(f"{field}: every patched item needs its merge key {key!r}")
        for index, existing in enumerate(merged):
            if isinstance(existing, dict) and existing.get(key) == item[key]:
                merged[index] = strategic_merge(existing, item, field)
                break
        else:
            merged.append(copy.deepcopy(item))
    return merged


def _load_kustomization(directory: Path) -> Object:
    path = directory / KUSTOMIZATION_FILE
    if not path.is_file():
        raise KustomizeError(f"{directory}: no {KUSTOMIZATION_FILE}")
    kustomization = yaml.safe_load(path.read_text())
    if not isinstance(kustomization, dict):
        raise KustomizeError(f"{path}: not a mapping")
    unsupported = set(kustomization) - SUPPORTED_FIELDS
    if unsupported:
        raise KustomizeError(f"{path}: unsupported fields {sorted(unsupported)}")
    return kustomization


def _resource(directory: Path, entry: str) -> list[Object]:
    path = (directory / entry).resolve()
    if path.is_dir():
        return render(path)
    if path.is_file():
        return _documents(path)
    raise KustomizeError(f"{directory}: resource {entry!r} not found")


def _documents(path: Path) -> list[Object]:
    objects = []
    for document in yaml.safe_load_all(path.read_text()):
        if document is None:
            continue
        if not isinstance(document, dict) or not {"apiVersion", "kind", "metadata"} <= set(
            document
        ):
            raise KustomizeError(f"{path}: every document needs apiVersion, kind and metadata")
        objects.append(document)
    return objects


def _refuse_duplicates(objects: Iterable[Object], directory: Path) -> None:
    seen: set[tuple[str, str, str]] = set()
    for obj in objects:
        key = identity(obj)
        if key in seen:
            raise KustomizeError(f"{directory}: {key} appears twice")
        seen.add(key)


def _apply_patches(objects: list[Object], directory: Path, entry: Mapping[str, Any]) -> None:
    if set(entry) != {"path"}:
        raise KustomizeError(f"{directory}: a patch is `path:` alone here, not {sorted(entry)}")
    for patch in _documents(directory / entry["path"]):
        kind, name = patch["kind"], patch["metadata"].get("name")
        matches = [
            index
            for index, obj in enumerate(objects)
            if obj["kind"] == kind and obj["metadata"].get("name") == name
        ]
        if len(matches) != 1:
            raise KustomizeError(
                f"{directory / entry['path']}: {kind} {name} matches {len(matches)} objects"
            )
        index = matches[0]
        objects[index] = strategic_merge(objects[index], patch)


def _add_labels(objects: Iterable[Object], entry: Mapping[str, Any]) -> None:
    if entry.get("includeSelectors") or entry.get("includeTemplates"):
        raise KustomizeError("labels: includeSelectors and includeTemplates are unsupported")
    unsupported = set(entry) - {"pairs", "includeSelectors", "includeTemplates"}
    if unsupported:
        raise KustomizeError(f"labels: unsupported fields {sorted(unsupported)}")
    for obj in objects:
        obj["metadata"].setdefault("labels", {}).update(entry["pairs"])


def _set_image(objects: Iterable[Object], image: Mapping[str, Any]) -> None:
    unsupported = set(image) - {"name", "newName", "newTag", "digest"}
    if unsupported:
        raise KustomizeError(f"images: unsupported fields {sorted(unsupported)}")
    for container in _containers(objects):
        reference = container.get("image", "")
        if _image_name(reference) != image["name"]:
            continue
        name = image.get("newName", _image_name(reference))
        if "digest" in image:
            container["image"] = f"{name}@{image['digest']}"
        elif "newTag" in image:
            container["image"] = f"{name}:{image['newTag']}"
        else:
            container["image"] = name + reference[len(_image_name(reference)) :]


def _image_name(reference: str) -> str:
    """`registry:5000/repo/name:tag@sha256:...` -> `registry:5000/repo/name`."""
    name = reference.split("@", 1)[0]
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > last_slash else name


def _containers(objects: Iterable[Object]) -> Iterable[dict[str, Any]]:
    for obj in objects:
        spec = obj.get("spec") or {}
        pod = (
            spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec")
            or spec.get("template", {}).get("spec")
            or (spec if obj["kind"] == "Pod" else None)
        )
        if not pod:
            continue
        yield from pod.get("initContainers", [])
        yield from pod.get("containers", [])


def dump(objects: Sequence[Object]) -> str:
    text: str = yaml.safe_dump_all(objects, sort_keys=False)
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.kustomize", description=__doc__)
    parser.add_argument("directory", type=Path, help="a folder with a kustomization.yaml")
    args = parser.parse_args(argv)
    try:
        print(dump(render(args.directory)), end="")
    except KustomizeError as exc:
        parser.exit(1, f"kustomize: {exc}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Vendors the console's front-end libraries from npm: `python -m tools.vendor_js`.

The console (services/insights/api/console/) loads its JavaScript from its own static files,
never from a CDN. Which versions it uses is pinned by package.json and package-lock.json there;
this tool, for every file listed in VENDORED:
- reads the package's version and integrity hash from the lock;
- downloads that version's tarball from the npm registry (the lock's `resolved` URL, else the
  registry's standard tarball URL; NPM_CONFIG_REGISTRY names another registry);
- checks the tarball against the lock's integrity hash (Subresource Integrity, sha512), so the
  file is the one the lock pinned;
- writes the file unmodified under static/vendor/, with the package's license beside it, then
  SHA256SUMS (`sha256sum -c` reads it) and README.md (which file comes from which package).

tests/contract/test_vendored_js.py checks, offline, that the files still match SHA256SUMS and the
README the lock gives, so an edit by hand or a lock changed without re-vendoring fails the suite.
`python -m tools.vendor_js --check` runs the same check. npm itself is needed only to change the
pins (`npm install --package-lock-only --ignore-scripts chart.js@<version>` in the console
folder); this tool needs Python and the registry.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
CONSOLE = ROOT / "services" / "insights" / "api" / "console"
PACKAGE_JSON = CONSOLE / "package.json"
LOCK = CONSOLE / "package-lock.json"
VENDOR = CONSOLE / "static" / "vendor"
CHECKSUMS = "SHA256SUMS"
README = "README.md"
DEFAULT_REGISTRY = "https://registry.npmjs.org"
DOWNLOAD_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class VendoredFile:
    package: str
    path: str  # inside the package's tarball, under its package/ folder
    name: str  # under static/vendor/
    purpose: str


# Chart.js's UMD build bundles its one dependency (@kurkle/color), so the page needs this file
# alone: `<script src=".../vendor/chart.umd.min.js">` defines the global `Chart`.
VENDORED = (
    VendoredFile(
        package="chart.js",
        path="dist/chart.umd.min.js",
        name="chart.umd.min.js",
        purpose="Chart.js, the console's charts (UMD build: the global `Chart`)",
    ),
    VendoredFile(
        package="chart.js",
        path="LICENSE.md",
        name="LICENSE-chart.js.txt",
        purpose="Chart.js's license (MIT)",
    ),
)


@dataclass(frozen=True)
class LockedPackage:
    name: str
    version: str
    integrity: str
    resolved: str | None

    def tarball_url(self, registry: str) -> str:
        if self.resolved:
            return self.resolved
        # The registry's layout: /<name>/-/<name without scope>-<version>.tgz
        return f"{registry.rstrip('/')}/{self.name}/-/{self.name.split('/')[-1]}-{self.version}.tgz"


def _read_json(path: Path) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return value


def locked(package: str, lock: dict[str, Any] | None = None) -> LockedPackage:
    lock = lock if lock is not None else _read_json(LOCK)
    entry = lock.get("packages", {}).get(f"node_modules/{package}")
    if entry is None:
        raise SystemExit(f"{package} is not in {LOCK.relative_to(ROOT)}: run npm install there")
    return LockedPackage(
        name=package,
        version=str(entry["version"]),
        integrity=str(entry["integrity"]),
        resolved=entry.get("resolved"),
    )


def pinned_versions() -> dict[str, str]:
    """package.json's dependencies: exact versions only (a range would let the lock drift)."""
    dependencies: dict[str, str] = _read_json(PACKAGE_JSON).get("dependencies", {})
    return dependencies


def verify_integrity(data: bytes, integrity: str) -> None:
    """Subresource Integrity as npm records it: '<algorithm>-<base64 digest>' (any listed)."""
    for candidate in integrity.split():
        algorithm, _, expected = candidate.partition("-")
        if algorithm not in ("sha512", "sha384", "sha256", "sha1"):
            continue
        actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
        if actual == expected:
            return
    raise SystemExit(f"the tarball does not match the lock's integrity {integrity}")


def extract(tarball: bytes, path: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        member = archive.extractfile(f"package/{path}")
        if member is None:
            raise SystemExit(f"package/{path} is not a file in the tarball")
        return member.read()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def checksums_text(files: dict[str, bytes]) -> str:
    return "".join(f"{sha256(data)}  {name}\n" for name, data in sorted(files.items()))


def readme_text(lock: dict[str, Any] | None = None) -> str:
    """static/vendor/README.md: what each file is and the pinned package it comes from."""
    lines = [
        "# Vendored front-end libraries",
        "",
        "Written by `python -m tools.vendor_js` from `../../package-lock.json`; do not edit these",
        "files by hand (tests/contract/test_vendored_js.py checks them against SHA256SUMS).",
        "",
        "| file | package | from the tarball | what |",
        "|---|---|---|---|",
    ]
    for item in VENDORED:
        package = locked(item.package, lock)
        lines.append(
            f"| `{item.name}` | {package.name}@{package.version} | `{item.path}` | {item.purpose} |"
        )
    lines += ["", "Integrity (the lock's, checked against the downloaded tarball):", ""]
    for name in sorted({item.package for item in VENDORED}):
        package = locked(name, lock)
        lines.append(f"- {package.name}@{package.version}: `{package.integrity}`")
    return "\n".join(lines) + "\n"


def problems() -> list[str]:
    """What is wrong with static/vendor/ compared with the lock, offline; empty when all is well."""
    found: list[str] = []
    lock = _read_json(LOCK)
    for name, wanted in pinned_versions().items():
        version = locked(name, lock).version
        if wanted != version:
            found.append(f"package.json pins {name} {wanted!r}; the lock has {version}")
    sums_path = VENDOR / CHECKSUMS
    if not sums_path.is_file():
        return [*found, f"{sums_path.relative_to(ROOT)} is missing: run python -m tools.vendor_js"]
    listed: dict[str, str] = {}
    for line in sums_path.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        listed[name] = digest
    expected_names = {item.name for item in VENDORED}
    if set(listed) != expected_names:
        found.append(
            f"SHA256SUMS lists {sorted(listed)}; tools/vendor_js.py vendors "
            f"{sorted(expected_names)}"
        )
    for name, digest in sorted(listed.items()):
        path = VENDOR / name
        if not path.is_file():
            found.append(f"{name} is missing")
        elif sha256(path.read_bytes()) != digest:
            found.append(f"{name} is not the vendored file (its sha256 differs from SHA256SUMS)")
    present = {path.name for path in VENDOR.iterdir()} - {CHECKSUMS, README}
    if present - expected_names:
        found.append(f"files no tool vendored: {sorted(present - expected_names)}")
    readme = VENDOR / README
    if not readme.is_file() or readme.read_text(encoding="utf-8") != readme_text(lock):
        found.append("README.md does not name the lock's versions: run python -m tools.vendor_js")
    return found


def vendor(registry: str) -> None:
    lock = _read_json(LOCK)
    tarballs: dict[str, bytes] = {}
    files: dict[str, bytes] = {}
    with httpx.Client(timeout=DOWNLOAD_TIMEOUT_S, follow_redirects=True) as client:
        for item in VENDORED:
            package = locked(item.package, lock)
            if package.name not in tarballs:
                url = package.tarball_url(registry)
                print(f"{package.name}@{package.version}: {url}")
                response = client.get(url)
                response.raise_for_status()
                verify_integrity(response.content, package.integrity)
                tarballs[package.name] = response.content
            files[item.name] = extract(tarballs[package.name], item.path)
    VENDOR.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (VENDOR / name).write_bytes(data)
        print(f"  {(VENDOR / name).relative_to(ROOT)}  sha256 {sha256(data)}")
    (VENDOR / CHECKSUMS).write_text(checksums_text(files), encoding="utf-8")
    (VENDOR / README).write_text(readme_text(lock), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.vendor_js", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="check static/vendor/ against the lock, offline"
    )
    args = parser.parse_args(argv)
    if not args.check:
        vendor(os.environ.get("NPM_CONFIG_REGISTRY") or DEFAULT_REGISTRY)
    found = problems()
    for problem in found:
        print(f"vendor_js: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

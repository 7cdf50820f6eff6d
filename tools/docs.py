"""Renders the HTTP API reference: `python -m tools.docs` (what `make docs` runs).

Reads the committed OpenAPI documents (contracts/openapi/<service>.json) and writes, under
build/docs/ (or --out):
- <service>.html: the service's reference, rendered by Redoc in the browser from the document
  embedded in the page, so it opens from file:// with no server and no network;
- index.html: the services, their versions and how many operations each has;
- redoc.standalone.js: the vendored Redoc bundle (tools/docs/vendor/) the pages load.
"""

from __future__ import annotations

import argparse
import html
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "contracts" / "openapi"
VENDOR = ROOT / "tools" / "docs" / "vendor"
BUNDLE = "redoc.standalone.js"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# Redoc's own options (https://redocly.com/docs/redoc/config): the first success response
# opened, the samples beside the operations, no hostname (the document names no server).
REDOC_OPTIONS = {"expandResponses": "200,201", "hideHostname": True, "pathInMiddlePanel": True}


@dataclass(frozen=True)
class Reference:
    service: str
    title: str
    version: str
    description: str
    operations: int

    @property
    def page(self) -> str:
        return f"{self.service}.html"


def script_json(value: Any) -> str:
    """JSON that is safe inside an HTML <script> element: a `</script>` (or `<!--`) in a
    description must not end the element, so every `<` is written as its JSON escape."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def operation_count(document: dict[str, Any]) -> int:
    paths: dict[str, dict[str, Any]] = document.get("paths", {})
    return sum(1 for item in paths.values() for method in item if method in HTTP_METHODS)


def reference_of(path: Path, document: dict[str, Any]) -> Reference:
    info: dict[str, Any] = document.get("info", {})
    return Reference(
        service=path.stem,
        title=str(info.get("title", path.stem)),
        version=str(info.get("version", "")),
        description=str(info.get("description", "")).strip().split("\n\n")[0],
        operations=operation_count(document),
    )


def service_page(reference: Reference, document: dict[str, Any]) -> str:
    title = html.escape(f"{reference.title} {reference.version} — API reference")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ margin: 0; padding: 0; }}
nav.oms {{ font: 14px sans-serif; padding: 6px 12px; background: #f4f4f4; }}
</style>
</head>
<body>
<nav class="oms"><a href="index.html">All services</a></nav>
<div id="redoc"></div>
<script src="{BUNDLE}"></script>
<script>
Redoc.init({script_json(document)}, {script_json(REDOC_OPTIONS)}, document.getElementById("redoc"));
</script>
</body>
</html>
"""


def index_page(references: list[Reference]) -> str:
    rows = "\n".join(
        f'<tr><td><a href="{html.escape(r.page)}">{html.escape(r.title)}</a></td>'
        f"<td>{html.escape(r.version)}</td><td>{r.operations}</td>"
        f"<td>{html.escape(r.description)}</td></tr>"
        for r in references
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>OMS — HTTP API reference</title>
<style>
body {{ font: 15px/1.5 sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; }}
table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; }}
</style>
</head>
<body>
<h1>OMS — HTTP API reference</h1>
<p>Rendered with Redoc from the committed OpenAPI documents (<code>contracts/openapi/</code>) by
<code>make docs</code>. Each running service also serves its own at <code>/docs</code>.</p>
<table>
<tr><th>service</th><th>version</th><th>operations</th><th>what it does</th></tr>
{rows}
</table>
</body>
</html>
"""


def render(contracts: Path, out: Path) -> list[Reference]:
    sources = sorted(contracts.glob("*.json"))
    if not sources:
        raise SystemExit(f"no OpenAPI documents in {contracts}")
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(VENDOR / BUNDLE, out / BUNDLE)
    references = []
    for source in sources:
        document: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
        reference = reference_of(source, document)
        (out / reference.page).write_text(service_page(reference, document), encoding="utf-8")
        references.append(reference)
    (out / "index.html").write_text(index_page(references), encoding="utf-8")
    return references


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--contracts", type=Path, default=CONTRACTS, help="folder of OpenAPI documents"
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "build" / "docs", help="where to write the pages"
    )
    args = parser.parse_args(argv)
    references = render(args.contracts, args.out)
    for reference in references:
        print(f"docs: {args.out / reference.page} ({reference.operations} operations)")
    print(f"docs: open {(args.out / 'index.html').resolve().as_uri()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Schemathesis against each running service of the end-to-end stack.

Every operation of each committed OpenAPI document, with schema-valid and schema-violating
data: no 5xx, every status and header declared, every response body matching its schema,
invalid input refused and valid input accepted (schemathesis.toml says which business
refusals count as accepted). Bounded examples and a fixed seed keep CI time and results
stable; OMS_FUZZ_EXAMPLES and OMS_FUZZ_SEED explore further.

It runs with real tokens of two clients, each narrowed to its own sales channels, and with
schemathesis's auth checks on: a request that succeeds must fail without a token and with a
forged one, and one client's objects must not reach the other.

It runs after the other end-to-end tests: it writes random routing strategies and return
policies, which would change what those tests expect.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, Stack
from tests.support.environment import LOG_DIR, SERVICES
from tests.support.tokens import token

EXAMPLES = os.environ.get("OMS_FUZZ_EXAMPLES", "20")
SEED = os.environ.get("OMS_FUZZ_SEED", "20261124")
HOOKS = "tests.e2e.schemathesis_hooks"
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


# Two clients with every scope, each narrowed to its own sales channels (schemathesis.toml).
PEERS = {
    "web-shop": ["web", "mobile_app", "pos", "phone"],
    "marketplace": ["marketplace", "b2b_portal", "other"],
}


def wfc_document() -> dict[str, Any]:
    """The Web Fuzzing Commons auth document schemathesis reads its clients from."""
    return {
        "schemaVersion": "0.1.0",
        "auth": [
            {
                "name": name,
                "fixedHeaders": [
                    {
                        "name": "Authorization",
                        "value": f"Bearer {token(channels=channels, client_id=name)}",
                    }
                ],
            }
            for name, channels in PEERS.items()
        ],
    }


@pytest.mark.after_the_rest(1)
@pytest.mark.timeout(600)
@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_schemathesis_finds_no_failure(stack: Stack, service: str) -> None:
    url = stack[service].url
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    auth_document = LOG_DIR / "schemathesis-auth.json"
    auth_document.write_text(json.dumps(wfc_document()))
    run = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "--config-file",
        str(ROOT / "schemathesis.toml"),
        "run",
        f"{url}/openapi.json",
        "--max-examples",
        EXAMPLES,
        "--seed",
        SEED,
        # One worker: with two threads, hypothesis parses lambda sources concurrently and
        # CPython 3.11.7's ast.parse can fail with "AST constructor recursion depth mismatch"
        # (a CPython bug, gh-106905), a crash in the tool rather than a finding about the API.
        "--workers",
        "1",
        "--no-color",
        cwd=ROOT,
        env={
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks",
            "OMS_SCHEMATHESIS_AUTH": str(auth_document),
            "PYTHONPATH": str(ROOT),
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output = (await run.communicate())[0].decode(errors="replace")
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    (LOG_DIR / f"schemathesis-{service}.txt").write_text(output)
    cases = re.search(r"Test cases:\s*\n\s*(\d+) generated", output)
    assert run.returncode == 0, output[-6000:]
    # A run that generated nothing would pass while testing nothing.
    assert cases and int(cases.group(1)) > 100, output[-3000:]

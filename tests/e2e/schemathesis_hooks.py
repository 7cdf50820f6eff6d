"""Schemathesis hooks (loaded through SCHEMATHESIS_HOOKS by test_api_fuzzing.py).

Stock imports take NDJSON files, a media type schemathesis has no serializer for: the drawn
value goes on the wire as it is (bytes) or as text, like its built-in text/csv handling.
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx: Any, value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()

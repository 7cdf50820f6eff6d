"""Development tokens: the local stack's signing key, and tokens minted with it.

    python -m tools.dev_auth env       # export lines for OMS_AUTH_SIGNING_KEY / OMS_AUTH_JWKS
    python -m tools.dev_auth files --dir /keys  # the key and its JWKS as files (docker compose)
    python -m tools.dev_auth token --scopes "orders:read orders:write" --channels web
    make token SCOPES="orders:read orders:write" CHANNELS=web LOCATIONS=store-berlin

The key is made once per checkout in .local/auth/ (never committed) with a key id that marks
it as a development key, which every service refuses to trust outside development and test.
Tokens are what an identity provider would issue for the OAuth2 client-credentials grant.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import uuid
from pathlib import Path
from typing import Any

from libs.auth.keys import DEV_KID_PREFIX, generate_signing_key, jwks_of
from libs.auth.scopes import Scope
from libs.auth.settings import AuthSettings

KEY_FILE = Path(__file__).resolve().parents[1] / ".local" / "auth" / "dev-signing-key.json"


def dev_signing_key(path: Path = KEY_FILE) -> dict[str, Any]:
    """The checkout's development key, made on first use (readable by its owner only)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = generate_signing_key(f"{DEV_KID_PREFIX}{uuid.uuid4().hex[:12]}")
        path.touch(mode=0o600)
        path.write_text(json.dumps(key))
    key_from_file: dict[str, Any] = json.loads(path.read_text())
    return key_from_file


def signing_key() -> dict[str, Any]:
    """The key the running stack trusts: the environment's if set, else the checkout's."""
    return AuthSettings().signing_key() or dev_signing_key()


def env_lines() -> str:
    key = dev_signing_key()
    return "\n".join(
        [
            f"export OMS_AUTH_SIGNING_KEY={shlex.quote(json.dumps(key))}",
            f"export OMS_AUTH_JWKS={shlex.quote(json.dumps(jwks_of(key)))}",
        ]
    )


# The file names `files` writes, which docker-compose.yml's services read
# (OMS_AUTH_SIGNING_KEY_FILE, OMS_AUTH_JWKS_FILE).
SIGNING_KEY_NAME = "dev-signing-key.json"
JWKS_NAME = "jwks.json"


def write_files(directory: Path) -> None:
    """The development key (made once: a second run keeps it, so tokens minted earlier stay
    valid) and the JWKS that trusts it, in `directory`."""
    key = dev_signing_key(directory / SIGNING_KEY_NAME)
    (directory / JWKS_NAME).write_text(json.dumps(jwks_of(key)))


def _codes(text: str | None) -> list[str] | None:
    if text is None or not text.strip():
        return None
    return [code for code in text.replace(",", " ").split() if code]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.dev_auth", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("env", help="print export lines for the development key and JWKS")
    files = sub.add_parser("files", help="write the development key and its JWKS as files")
    files.add_argument("--dir", type=Path, required=True, help="where to write them")
    token = sub.add_parser("token", help="mint a development access token")
    token.add_argument("--scopes", default="admin", help="space- or comma-separated scopes")
    token.add_argument("--channels", default=None, help="narrow to these channels")
    token.add_argument("--locations", default=None, help="narrow to these locations")
    token.add_argument("--client-id", default="dev-client")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    args = parser.parse_args(argv)
    if args.command == "env":
        print(env_lines())
        return 0
    if args.command == "files":
        write_files(args.dir)
        print(f"development key and JWKS in {args.dir}", file=sys.stderr)
        return 0
    scopes = _codes(args.scopes) or []
    unknown = sorted(set(scopes) - {scope.value for scope in Scope})
    if unknown:
        print(
            f"unknown scope(s) {unknown}; choose from {[s.value for s in Scope]}", file=sys.stderr
        )
        return 2
    print(
        AuthSettings().mint(
            client_id=args.client_id,
            scopes=scopes,
            channels=_codes(args.channels),
            locations=_codes(args.locations),
            ttl_s=args.ttl,
            key=signing_key(),
        )
    )
    return 0


if __name__ == "__main__":
    os.umask(0o077)
    raise SystemExit(main())

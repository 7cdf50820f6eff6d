"""`python -m services.inventory [api] [relay] [consumer] [jobs]` (all parts by default)."""

import sys

from libs.runtime import run_service
from services.inventory.api.app import create_app
from services.inventory.bootstrap import bootstrap

if __name__ == "__main__":
    run_service(sys.argv[1:], build_container=bootstrap, build_app=create_app)

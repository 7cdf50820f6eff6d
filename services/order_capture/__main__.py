"""`python -m services.order_capture [api] [relay] [consumer]` (all three by default)."""

import sys

from libs.runtime import run_service
from services.order_capture.api.app import create_app
from services.order_capture.bootstrap import bootstrap

if __name__ == "__main__":
    run_service(sys.argv[1:], build_container=bootstrap, build_app=create_app)

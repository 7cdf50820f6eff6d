"""The SQLAlchemy repositories implementing the ports of service_layer/unit_of_work.py."""

from __future__ import annotations

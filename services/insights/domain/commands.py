"""What callers ask insights to do (dataclasses): the bus dispatches each to its handler."""

from __future__ import annotations

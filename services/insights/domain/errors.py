"""What insights refuses, each with a stable code."""

from __future__ import annotations

from libs.errors import Unprocessable


class InvalidPeriod(Unprocessable):
    code = "invalid_period"
    title = "The period asked for is not a period the key figures can be given for"

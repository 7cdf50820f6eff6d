from __future__ import annotations

from libs.errors import NotFound


class SagaNotFound(NotFound):
    code = "saga_not_found"
    title = "No saga for this order"

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from libs.config import ServiceSettings
from libs.registry import service


def _local(name: str) -> str:
    return f"http://127.0.0.1:{service(name).port}"


class InsightsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INSIGHTS_", extra="ignore", frozen=True)

    SERVICE_NAME: str = "insights"
    HTTP_PORT: int = service("insights").port
    DATABASE_URL: str = "postgresql+asyncpg://oms_insights:oms_insights@127.0.0.1:5432/oms_insights"

    # Dead letters (services/insights/adapters/dead_letter_topics.py): the collector job reads
    # the dead-letter topics when true; a re-drive waits this long for the broker's
    # acknowledgement before answering 503.
    DEAD_LETTERS_COLLECT: bool = True
    DEAD_LETTER_REDRIVE_TIMEOUT_S: float = 5.0

    # The operations console is a client of the services' public APIs (with the operator's
    # own token), insights' own included: where each of them answers.
    ORDER_CAPTURE_URL: str = _local("order_capture")
    INVENTORY_URL: str = _local("inventory")
    ORCHESTRATION_URL: str = _local("orchestration")
    RETURNS_URL: str = _local("returns")
    NOTIFICATIONS_URL: str = _local("notifications")
    INSIGHTS_URL: str = _local("insights")
    # A console page waits at most this long for one API call; a section that is not answered
    # in time says so rather than holding the whole page.
    CONSOLE_API_TIMEOUT_S: float = Field(default=5.0, gt=0)

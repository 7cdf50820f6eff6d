from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from libs.config import ServiceSettings
from libs.registry import service


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

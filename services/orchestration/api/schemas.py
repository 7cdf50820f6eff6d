from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class SagaStepRead(BaseModel):
    name: str
    at: datetime
    detail: str


class SagaRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": "019a4c1e-8d3b-7c6a-9f00-3b1d2e4f5a6b",
                    "order_number": "OMS-00001000",
                    "state": "stock_reserved",
                    "started_at": "2026-11-22T10:15:00Z",
                    "updated_at": "2026-11-22T10:15:01Z",
                    "steps": [
                        {
                            "name": "order_placed",
                            "at": "2026-11-22T10:15:00Z",
                            "detail": "waiting for inventory's answer",
                        },
                        {
                            "name": "stock_reserved",
                            "at": "2026-11-22T10:15:01Z",
                            "detail": "2 x LAMP-001 at WH-BER",
                        },
                    ],
                }
            ]
        }
    )

    order_id: UUID
    order_number: str
    state: str
    started_at: datetime
    updated_at: datetime
    steps: list[SagaStepRead]

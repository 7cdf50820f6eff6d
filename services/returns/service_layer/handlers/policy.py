"""The versioned return policy."""

from __future__ import annotations

from services.returns.domain import commands
from services.returns.service_layer.unit_of_work import UnitOfWork


async def put_policy(cmd: commands.PutPolicy, uow: UnitOfWork) -> int:
    return await uow.policies.add(cmd.policy, uow.clock.now(), cmd.expected_version)

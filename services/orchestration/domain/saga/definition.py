"""The shape of a saga definition: steps, each with its action, the replies it waits for, its
deadline, its compensation and what a failure does (read the order saga's in steps.py).

A definition is data the saga runs on: SagaCore moves on through the steps in their order
(run_from), takes a step's wait (due, deadline) when it enters the step's state, asks the
step it is in what an expired deadline means, and cancels by running the steps'
compensations in their order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from services.orchestration.domain.saga.state import SagaState

S = TypeVar("S")

# When the worker looks at the saga again, or when it stops waiting (None: not timed).
When = Callable[[S, datetime], datetime | None]
# Take back units of the order (line id -> units, shrinking by what was taken).
Undo = Callable[[S, dict[str, int], datetime], None]


@dataclass(frozen=True)
class Action(Generic[S]):
    """What a step does when the saga reaches it: `emits` says what it sends. `run` is
    called as the saga moves on through the steps (run_from) and returns True when the saga
    now waits at this step, False when the next step follows at once. A step without `run`
    is started from outside the sequence (the worker's plan, a reply)."""

    emits: str
    run: Callable[[S, datetime], bool] | None = None


@dataclass(frozen=True)
class Reply(Generic[S]):
    """An answer the step waits for, the saga's method that takes it, and what follows.
    A failure reply is one that undoes the step's work or stops the order."""

    name: str
    handler: Callable[..., object]
    then: str
    failure: bool = False


@dataclass(frozen=True)
class Deadline(Generic[S]):
    """How long the step waits: `at` is set on entering the step (`due` too: when the worker
    looks again); `on_expiry` is what the overdue sweep does once `at` has passed."""

    describe: str
    at: When[S] | None = None
    due: When[S] | None = None
    on_expiry: Callable[[S, datetime], None] | None = None


@dataclass(frozen=True)
class Compensation(Generic[S]):
    """What undoes the step for cancelled units: `now` takes them back at once; `later`
    takes back what only an answer still to come will tell (run after every step's `now`)."""

    describe: str
    now: Undo[S] | None = None
    later: Undo[S] | None = None


@dataclass(frozen=True)
class Step(Generic[S]):
    name: str
    state: SagaState  # the saga's state while it is at this step
    action: Action[S]
    replies: tuple[Reply[S], ...] = ()
    deadline: Deadline[S] | None = None
    compensation: Compensation[S] | None = None


class SagaDefinition(Generic[S]):
    """The steps top to bottom; one step per state."""

    def __init__(self, *steps: Step[S]) -> None:
        self.steps = steps
        self._by_state = {s.state: s for s in steps}
        self._by_name = {s.name: s for s in steps}
        assert len(self._by_state) == len(steps), "one step per state"
        assert len(self._by_name) == len(steps), "one step per name"

    def step_in(self, state: SagaState) -> Step[S]:
        """The step a saga in `state` is at."""
        return self._by_state[state]

    def from_step(self, name: str) -> Iterator[Step[S]]:
        """The named step and every step after it, in order."""
        index = self.steps.index(self._by_name[name])
        return iter(self.steps[index:])

    def compensations(self) -> Iterator[Compensation[S]]:
        return (s.compensation for s in self.steps if s.compensation is not None)

    def replies(self) -> Iterator[Reply[S]]:
        return (r for s in self.steps for r in s.replies)

"""The shape of a saga definition: steps, each with its action, the replies it waits for, its
deadline, its compensation and what a failure does (read the order saga's in steps.py).

A definition is data the saga runs on: SagaCore moves on through the steps in their order
(run_from), takes a step's wait (due, deadline) when it enters the step's state, asks the
step it is in what an expired deadline means, and cancels by running the steps'
compensations in their order. Replies reach the saga through it too: the service layer
hands each answer to the definition (take) with the Reply it is, and the definition calls the
saga method the Reply declares, refusing a Reply no step lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Concatenate, Generic, ParamSpec, TypeVar

from services.orchestration.domain.saga.state import SagaState

S = TypeVar("S")
# A Reply's saga, the arguments its method takes after the saga, and what the method returns.
# A Reply of a part of the saga (RoutingSteps) is a Reply of the whole (OrderSaga), and one
# returning `str | None` is one returning `object`: the table lists them all as such.
S_contra = TypeVar("S_contra", contravariant=True)
P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

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


@dataclass(frozen=True, eq=False)
class Reply(Generic[S_contra, P, R_co]):
    """An answer a saga waits for and the saga's method that takes it: one identity (compared
    by identity) wherever steps list it. Its type carries the method's arguments and result,
    so that SagaDefinition.take checks what the caller passes and returns what the method
    returns."""

    name: str
    handler: Callable[Concatenate[S_contra, P], R_co]


@dataclass(frozen=True)
class Awaited(Generic[S]):
    """A reply as one step lists it: which of its answers (`case`, when the step tells them
    apart), what follows, and whether it is a failure (one that undoes the step's work or
    stops the order)."""

    reply: Reply[S, ..., object]
    then: str
    failure: bool = False
    case: str | None = None

    @property
    def name(self) -> str:
        return self.case or self.reply.name


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
    replies: tuple[Awaited[S], ...] = ()
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
        # Each reply once, in the order the table first lists it.
        self._replies = tuple(dict.fromkeys(a.reply for s in steps for a in s.replies))
        names = [r.name for r in self._replies]
        assert len(set(names)) == len(names), "one name per reply"

    def take(self, saga: S, reply: Reply[S, P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Hand `saga` the answer `reply` carries: the method the Reply declares takes it,
        whatever step the saga is at (each method knows what a late or repeated answer means:
        nothing, mostly), and its result comes back. A Reply no step lists is refused: an
        answer the table does not declare has no way into the saga."""
        if reply not in self._replies:
            raise LookupError(f"no step of the saga lists the reply {reply.name!r}")
        return reply.handler(saga, *args, **kwargs)

    def step_in(self, state: SagaState) -> Step[S]:
        """The step a saga in `state` is at."""
        return self._by_state[state]

    def from_step(self, name: str) -> Iterator[Step[S]]:
        """The named step and every step after it, in order."""
        index = self.steps.index(self._by_name[name])
        return iter(self.steps[index:])

    def compensations(self) -> Iterator[Compensation[S]]:
        return (s.compensation for s in self.steps if s.compensation is not None)

    def replies(self) -> Iterator[Reply[S, ..., object]]:
        """Every reply the table lists, once each, in the order it first lists them."""
        return iter(self._replies)

    def steps_awaiting(self, reply: Reply[S, ..., object]) -> tuple[Step[S], ...]:
        """The steps that list `reply`, in table order."""
        return tuple(s for s in self.steps if any(a.reply is reply for a in s.replies))

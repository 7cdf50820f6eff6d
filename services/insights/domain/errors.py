"""What insights refuses, each with a stable code."""

from __future__ import annotations

from libs.errors import DependencyUnavailable, Forbidden, NotFound, Unprocessable


class InvalidPeriod(Unprocessable):
    code = "invalid_period"
    title = "The period asked for is not a period the key figures can be given for"


class DeadLetterNotFound(NotFound):
    code = "dead_letter_not_found"
    title = "No such dead letter"


class DeadLettersNeedUnnarrowedToken(Forbidden):
    code = "dead_letters_need_unnarrowed_token"
    title = (
        "Dead letters span every channel and location; a token narrowed to some cannot read "
        "or re-drive them"
    )


class BrokerUnavailable(DependencyUnavailable):
    code = "broker_unavailable"
    title = "The message broker did not take the record in time; retry later"

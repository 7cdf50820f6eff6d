"""A wire model (an integration event of libs.contracts, or a part of one) built from a domain
event whose fields it shares by name and meaning: the one way messaging/publications.py copies
such an event, instead of naming every field twice."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields
from typing import TYPE_CHECKING, TypeVar, cast

from pydantic import BaseModel

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

WireModel = TypeVar("WireModel", bound=BaseModel)

# (model, event class) pairs whose fields were checked: the check runs once per pair.
_checked: set[tuple[type[BaseModel], type[object]]] = set()


def _check_names(
    model: type[BaseModel], event_class: type[object], left_default: Collection[str]
) -> None:
    """Every field of `model` must be a field (or attribute) of the event or named in
    `left_default`: otherwise renaming a domain field would silently give the wire field its
    default instead of failing."""
    names = {f.name for f in fields(event_class)}  # type: ignore[arg-type]
    has = [n for n in model.model_fields if n in names or hasattr(event_class, n)]
    missing = set(model.model_fields) - set(has) - set(left_default)
    if missing:
        raise TypeError(
            f"{event_class.__name__} has no {', '.join(sorted(missing))} for {model.__name__}: "
            "map them explicitly in the publication, or name them in left_default"
        )
    stale = set(left_default) & set(has)
    if stale:
        raise TypeError(f"{event_class.__name__} has {', '.join(sorted(stale))}: not defaults")
    _checked.add((model, event_class))


def from_event(
    model: type[WireModel], event: DataclassInstance, *, left_default: Collection[str] = ()
) -> WireModel:
    """`model` validated from the attributes of `event` named as its fields, as the explicit
    `model(field=event.field, ...)` would be: nested dataclasses become nested models the same
    way (their tuples lists), the event's other fields are left out, and a field the event
    lacks takes the model's default or fails validation. A field renamed or computed on the
    way keeps its explicit code in the publication.

    Pydantic reads the attributes itself: no copy of the event is made. The model's validator
    is called directly, as `model_validate` does after checking its arguments, because on the
    order path that check cost more than the copy it replaces (about 1 µs an event).

    The first copy of each (model, event class) pair checks that the event has every field of
    the model but those named in `left_default` (TypeError if not), so a renamed domain field
    fails the first test that publishes it rather than taking the wire default in silence.
    Nested parts are not checked that way."""
    if (model, type(event)) not in _checked:
        _check_names(model, type(event), left_default)
    return cast(
        WireModel, model.__pydantic_validator__.validate_python(event, from_attributes=True)
    )

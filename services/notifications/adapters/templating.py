"""Customer messages rendered from the Jinja2 templates beside this module.

    templates/<language>/<kind>.subject.txt.j2   the subject line
    templates/<language>/<kind>.txt.j2           the plain-text part
    templates/<language>/<kind>.html.j2          the HTML part (autoescaped)
    templates/<language>/<kind>.sms.txt.j2       the SMS (one line; no customer input in it)
    templates/<language>/_layout.{txt,html}.j2   greeting, thanks and footer, per language
    templates/<language>/_phrases.j2             the customer's words for reason codes
    templates/_macros.{txt,html}.j2              item lists, addresses, buttons (no words)
    templates/brands.json                        the default brand and each channel's

The templates sit under `adapters/` because rendering them is an adapter's job (the service
template keeps no other top-level folder), and the service layer reaches them only through
the `MessageRenderer` port. The environment is built once per process: parsing a template is
the expensive part, and Jinja2 caches every template it has parsed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context

from services.notifications.domain.brands import Brand, BrandBook, BrandError, brand_book
from services.notifications.domain.localisation import Language, format_date, format_money
from services.notifications.domain.messages import (
    NotificationKind,
    RenderedMessage,
    context_problems,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"
BRANDS_FILE = TEMPLATES / "brands.json"

# Only the HTML parts are escaped: a text part or subject escaped would show `&amp;` to the
# reader. (select_autoescape looks at the last suffix, `.j2`, so it cannot tell them apart.)
_HTML_SUFFIX = ".html.j2"
# Line breaks and runs of spaces, but not the no-break space between an amount and its currency.
_WHITESPACE = re.compile(r"[ \t\r\n\f\v]+")


class TemplateContextError(ValueError):
    """The context does not match what the kind's templates read (domain.messages.KIND_FIELDS)."""


def _autoescape(name: str | None) -> bool:
    return name is not None and name.endswith(_HTML_SUFFIX)


def _language(context: Context) -> Language:
    language: Language = context["language"]
    return language


@pass_context
def _money(context: Context, amount: Decimal | int | str, currency: str) -> str:
    return format_money(Decimal(amount), currency, _language(context))


@pass_context
def _day(context: Context, value: date | datetime) -> str:
    brand: Brand = context["brand"]
    return format_date(value, _language(context), brand.zone)


def build_environment(directory: Path = TEMPLATES) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(directory),
        autoescape=_autoescape,
        # A field the template reads and the context lacks fails the render, never writes an
        # empty string into a customer's mail.
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )
    environment.filters["money"] = _money
    environment.filters["day"] = _day
    return environment


class TemplateRenderer:
    """The `MessageRenderer` port (domain.messages) over the Jinja2 templates."""

    def __init__(self, environment: Environment | None = None) -> None:
        self._environment = environment or build_environment()

    def render(
        self,
        kind: NotificationKind,
        language: Language,
        brand: Brand,
        context: Mapping[str, Any],
    ) -> RenderedMessage:
        values = _values(kind, language, brand, context)
        prefix = f"{language.value}/{kind.value}"
        subject = self._environment.get_template(f"{prefix}.subject.txt.j2").render(values)
        text = self._environment.get_template(f"{prefix}.txt.j2").render(values)
        html = self._environment.get_template(f"{prefix}{_HTML_SUFFIX}").render(values)
        return RenderedMessage(
            # One line, whatever the template's layout: a line break in a header would end it.
            subject=_one_line(subject),
            text=text.strip() + "\n",
            html=html.strip() + "\n",
        )

    def render_sms(
        self,
        kind: NotificationKind,
        language: Language,
        brand: Brand,
        context: Mapping[str, Any],
    ) -> str:
        values = _values(kind, language, brand, context)
        template = self._environment.get_template(f"{language.value}/{kind.value}.sms.txt.j2")
        return _one_line(template.render(values))


def _values(
    kind: NotificationKind, language: Language, brand: Brand, context: Mapping[str, Any]
) -> dict[str, Any]:
    problems = context_problems(kind, context)
    if problems:
        raise TemplateContextError(f"{kind.value}: {', '.join(problems)}")
    return {**context, "brand": brand, "language": language}


def _one_line(rendered: str) -> str:
    return _WHITESPACE.sub(" ", rendered).strip()


def load_brand_book(path: Path = BRANDS_FILE) -> BrandBook:
    """The brands configuration file: {"default": {...}, "channels": {"<channel>": {...}}}."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BrandError(f"cannot read the brands file {path}: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("default"), dict):
        raise BrandError(f"{path}: needs a 'default' brand object")
    channels = raw.get("channels", {})
    if not isinstance(channels, dict) or not all(isinstance(v, dict) for v in channels.values()):
        raise BrandError(f"{path}: 'channels' must map channel names to brand objects")
    return brand_book(raw["default"], channels)


@lru_cache(maxsize=1)
def default_renderer() -> TemplateRenderer:
    """One renderer per process, for the composition root."""
    return TemplateRenderer()

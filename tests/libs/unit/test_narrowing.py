"""A narrowing claim as a WHERE clause: no claim reaches everything, a claim only its codes, an
empty claim nothing. Run against an in-memory SQLite table of location codes."""

from __future__ import annotations

from sqlalchemy import Column, MetaData, String, Table, create_engine, insert, select

from libs.db.narrowing import within

codes = Table("codes", MetaData(), Column("code", String, primary_key=True))
ALL = ["ST-1", "ST-2", "WH-BER"]


def visible(locations: frozenset[str] | None) -> list[str]:
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        codes.create(conn)
        conn.execute(insert(codes), [{"code": c} for c in ALL])
        query = select(codes.c.code).where(within(codes.c.code, locations))
        return sorted(conn.execute(query).scalars())


def test_a_token_without_the_claim_is_not_narrowed() -> None:
    assert visible(None) == ALL


def test_a_claim_reaches_only_its_codes() -> None:
    assert visible(frozenset({"ST-2", "WH-BER"})) == ["ST-2", "WH-BER"]


def test_a_code_that_names_no_location_adds_nothing() -> None:
    assert visible(frozenset({"ST-1", "ST-9"})) == ["ST-1"]


def test_an_empty_claim_reaches_nothing() -> None:
    assert visible(frozenset()) == []

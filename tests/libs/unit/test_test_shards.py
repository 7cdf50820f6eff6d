"""make test's two shards: nothing falls between them, and neither shares the other's resources."""

from __future__ import annotations

import pytest

from tools import test_shards
from tools.test_shards import ROOT, SECOND_SHARD_PATHS


def test_every_path_of_the_second_shard_exists() -> None:
    # A renamed folder would quietly move its tests into the first shard and unbalance the two.
    missing = [path for path in SECOND_SHARD_PATHS if not (ROOT / path).exists()]
    assert missing == []


def test_the_first_shard_runs_everything_the_second_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OMS_TEST_DATABASE_SUFFIX", "_ci")
    monkeypatch.setenv("OMS_TEST_PORT_BASE", "18000")
    monkeypatch.setenv("OMS_TEST_RUN_ID", "42")
    first, second = test_shards.shards()

    assert first.paths == ("tests",)
    assert first.ignored == second.paths == SECOND_SHARD_PATHS
    assert [f"--ignore={p}" for p in SECOND_SHARD_PATHS] == [
        arg for arg in first.command([]) if arg.startswith("--ignore=")
    ]
    assert second.command(["-x"])[-len(SECOND_SHARD_PATHS) - 1 :] == ["-x", *SECOND_SHARD_PATHS]


def test_the_shards_have_databases_ports_and_topics_of_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OMS_TEST_DATABASE_SUFFIX", "_ci")
    monkeypatch.setenv("OMS_TEST_PORT_BASE", "18000")
    monkeypatch.setenv("OMS_TEST_RUN_ID", "42")
    first, second = (shard.environment() for shard in test_shards.shards())

    assert (first["OMS_TEST_DATABASE_SUFFIX"], second["OMS_TEST_DATABASE_SUFFIX"]) == (
        "_ci",
        "_ci_2",
    )
    assert (first["OMS_TEST_PORT_BASE"], second["OMS_TEST_PORT_BASE"]) == ("18000", "18500")
    assert first["OMS_TEST_RUN_ID"] != second["OMS_TEST_RUN_ID"]

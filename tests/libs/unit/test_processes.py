"""What `python -m services.<name>` makes of its command line, and what each child is given."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from libs.config import (
    MAX_DEFAULT_PROCESSES,
    ServiceSettings,
    default_processes,
    shared_host_consumer_apart,
    shared_host_nice,
    shared_host_processes,
)
from libs.processes import PARTS, Child, child_settings, consumer_apart, parse


def settings(**values: Any) -> ServiceSettings:
    url = "postgresql+asyncpg://returns:secret@db/returns"
    return ServiceSettings(SERVICE_NAME="returns", HTTP_PORT=8004, DATABASE_URL=url, **values)


def printed_by(probe: str, *, new_session: bool = False) -> list[str]:
    """What a Python process of its own, running `probe` in the repository, printed (split on
    white space): process-wide settings tried there leave the test run's own alone."""
    found = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        start_new_session=new_session,
        cwd=Path(__file__).resolve().parents[3],
    )
    return found.stdout.split()


class TestCommandLine:
    def test_no_parts_means_every_part_in_this_process(self) -> None:
        assert parse([]) == (list(PARTS), None)

    def test_named_parts_run_alone(self) -> None:
        assert parse(["relay", "consumer"]) == (["relay", "consumer"], None)

    def test_an_unknown_part_or_option_is_refused(self) -> None:
        with pytest.raises(SystemExit, match="unknown part"):
            parse(["worker"])
        with pytest.raises(SystemExit, match="unknown option"):
            parse(["--workers=2"])

    def test_a_child_is_told_its_number_its_supervisor_and_its_socket(self) -> None:
        parts, child = parse(["api", "jobs", "--child=2/3", "--supervisor=41", "--listen-fd=5"])

        assert parts == ["api", "jobs"]
        assert child == Child(number=2, count=3, supervisor=41, listen_fd=5)

    def test_a_child_without_the_api_has_no_socket(self) -> None:
        _, child = parse(["relay", "--child=1/2", "--supervisor=41"])

        assert child == Child(number=1, count=2, supervisor=41, listen_fd=None)

    def test_the_consumer_apart_is_told_its_own_nice(self) -> None:
        parts, child = parse(["consumer", "--child=2/1", "--supervisor=41", "--nice=10"])

        assert parts == ["consumer"]
        assert child == Child(number=2, count=1, supervisor=41, listen_fd=None, nice=10)


class TestConsumerApart:
    def test_only_when_asked_and_there_is_an_api_and_a_consumer_to_keep_apart(self) -> None:
        apart = settings(CONSUMER_APART=True)

        assert consumer_apart(apart, PARTS)
        assert not consumer_apart(settings(), PARTS)
        assert not consumer_apart(apart, ["consumer", "relay"])
        assert not consumer_apart(apart, ["api", "relay", "jobs"])

    def test_on_a_shared_machine_the_http_edge_keeps_its_consumer_apart(self) -> None:
        assert shared_host_consumer_apart("order_capture")
        assert not any(
            shared_host_consumer_apart(s) for s in ("inventory", "orchestration", "returns")
        )


class TestChildSettings:
    def test_each_static_member_has_its_own_instance_id(self) -> None:
        base = settings(KAFKA_GROUP_INSTANCE_ID="returns-a")

        ids = [child_settings(base, Child(n, 2, 1, None)).KAFKA_GROUP_INSTANCE_ID for n in (1, 2)]

        assert ids == ["returns-a-1", "returns-a-2"]

    def test_dynamic_membership_stays_dynamic(self) -> None:
        assert child_settings(settings(), Child(1, 2, 1, None)).KAFKA_GROUP_INSTANCE_ID == ""

    def test_the_self_service_limit_is_shared_and_the_write_limit_is_not(self) -> None:
        base = settings(SELF_SERVICE_RATE_PER_MIN=30, SELF_SERVICE_BURST=10, WRITE_RATE_PER_S=100)

        one = child_settings(base, Child(1, 4, 1, None))

        assert one.SELF_SERVICE_RATE_PER_MIN * 4 == 30
        assert one.SELF_SERVICE_BURST == 3  # rounded up: a burst of 0 would refuse everyone
        assert one.WRITE_RATE_PER_S == 100


class TestDefaultProcesses:
    def test_one_per_cpu_up_to_the_cap(self) -> None:
        assert 1 <= default_processes() <= MAX_DEFAULT_PROCESSES
        assert default_processes() == settings().PROCESSES

    def test_set_it_and_it_is_what_is_set(self) -> None:
        assert settings(PROCESSES=3).PROCESSES == 3


class TestSharedHostProcesses:
    def test_the_http_edge_gets_one_per_two_cpus_the_others_one_per_four(self) -> None:
        assert [shared_host_processes("order_capture", cpus=n) for n in (1, 2, 4, 8, 32)] == [
            1,
            1,
            2,
            4,
            MAX_DEFAULT_PROCESSES,
        ]
        assert [shared_host_processes("orchestration", cpus=n) for n in (1, 2, 4, 8, 32)] == [
            1,
            1,
            1,
            2,
            MAX_DEFAULT_PROCESSES,
        ]


class TestCpuPriority:
    def test_the_http_edges_take_the_cpu_first_and_returns_last(self) -> None:
        services = ("order_capture", "inventory", "orchestration", "returns")
        levels = {s: shared_host_nice(s) for s in services}
        assert levels["order_capture"] == levels["inventory"] == 0
        assert 0 < levels["orchestration"] < levels["returns"] <= 19
        assert shared_host_nice("a_service_added_later") > 0

    def test_it_is_off_unless_set_and_bounded_to_what_nice_allows(self) -> None:
        assert settings().CPU_NICE == 0
        assert settings(CPU_NICE=19).CPU_NICE == 19
        with pytest.raises(ValueError):
            settings(CPU_NICE=20)
        with pytest.raises(ValueError):
            settings(CPU_NICE=-1)

    @pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="no autogroups here")
    def test_a_session_leader_yields_with_its_whole_session(self) -> None:
        # A process of its own (start_new_session, as make run starts a service): the nice
        # of its session's autogroup is what the kernel weighs against the other sessions.
        probe = (
            "import os; from pathlib import Path; from libs.processes import yield_cpu; "
            "yield_cpu(7); print(os.getpriority(os.PRIO_PROCESS, 0)); "
            "print(Path('/proc/self/autogroup').read_text().split()[-1])"
        )
        assert printed_by(probe, new_session=True) == ["7", "7"]


class TestHeapSettling:
    def test_start_up_is_frozen_out_of_collections_and_the_young_wait_longer(self) -> None:
        # A process of its own: the collector's settings are the whole process's.
        probe = (
            "import gc; from libs.runtime import settle_heap; "
            "before = gc.get_threshold(); settle_heap(50_000); after = gc.get_threshold(); "
            "print(gc.get_freeze_count() > 0, after[0], after[1:] == before[1:])"
        )
        assert printed_by(probe) == ["True", "50000", "True"]

    def test_the_threshold_defaults_to_a_service_s_and_refuses_a_tiny_one(self) -> None:
        assert settings().GC_GEN0_THRESHOLD == 50_000
        with pytest.raises(ValueError):
            settings(GC_GEN0_THRESHOLD=10)

"""A Kafka broker and a PostgreSQL cluster of the chaos suite's own, on ports of its own.

The suite stops the broker and the database on purpose, so it must never use the shared ones
(127.0.0.1:9092 and :5432) that the rest of the run, or another working copy, is using. The
broker runs from the jars `deploy/local/kafka.sh fetch` caches; the cluster is a fresh
`initdb` in a temporary folder, run as the postgres user (initdb and pg_ctl refuse root).
Both are started, stopped and started again on the same data, as an outage does.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.support.environment import ROOT
from tests.support.polling import eventually

PG_BIN = Path("/usr/lib/postgresql/15/bin")
KAFKA_VERSION = "3.9.1"
# Any valid Kafka cluster id: base64url of 16 bytes ("oms-chaos-kafka!").
CLUSTER_ID = "b21zLWNoYW9zLWthZmthIQ"


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def private_dir(prefix: str) -> Path:
    """A temporary folder the postgres user may enter (never under /root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


class Postgres:
    """A PostgreSQL 15 cluster of its own on 127.0.0.1:<port>, trust authentication on
    loopback only (a throwaway cluster for one test run)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.home = private_dir("oms-chaos-pg-")
        self.data = self.home / "data"
        self.log = self.home / "postgres.log"

    def _as_owner(self, *command: str) -> list[str]:
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres", "postgres")
            return ["runuser", "-u", "postgres", "--", *command]
        return list(command)

    def _run(self, *command: str, timeout: float = 120) -> None:
        done = subprocess.run(
            self._as_owner(*command),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.home,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")

    def create(self) -> None:
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
        )
        settings = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.home}'",
            "max_connections": "200",
            "shared_buffers": "64MB",
            # A throwaway test cluster: durability against power loss buys nothing here (a
            # killed server's writes are still in the OS cache for the recovery to find).
            # synchronous_commit stays on: with it off, a commit already answered to a client
            # is lost when the server is killed before the WAL writer's next round, and the
            # crash scenario found such "lost" orders (their events already published).
            "fsync": "off",
            "full_page_writes": "off",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# tests/chaos/infra.py\n")
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def create_and_start(self) -> None:
        self.create()
        self.start()

    def start(self) -> None:
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop_immediately(self) -> None:
        """`pg_ctl stop -m immediate`: every backend killed, no checkpoint; the next start
        runs crash recovery, during which connections are refused as "not yet accepting"."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def psql(self, sql_file: Path) -> None:
        done = subprocess.run(
            [
                str(PG_BIN / "psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-f",
                str(sql_file),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql -f {sql_file} failed:\n{done.stderr[-3000:]}")

    def url(self, role: str, database: str) -> str:
        return f"postgresql+asyncpg://{role}:{role}@127.0.0.1:{self.port}/{database}"

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


class Kafka:
    """A single KRaft broker (combined mode) on 127.0.0.1:<port>, its controller on port+1,
    with a log folder of its own; the cached jars of deploy/local/kafka.sh."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.home = private_dir("oms-chaos-kafka-")
        self.props = self.home / "server.properties"
        self.log4j = self.home / "log4j.properties"
        self.logs = self.home / "logs"
        self.process: subprocess.Popen[bytes] | None = None
        cache = Path(os.environ.get("OMS_CACHE_DIR", Path.home() / ".cache" / "oms"))
        self.libs = cache / f"kafka-{KAFKA_VERSION}" / "libs"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def create(self) -> None:
        # Installs Java and Maven when missing, fetches the jars once per machine.
        subprocess.run(
            [str(ROOT / "deploy" / "local" / "kafka.sh"), "fetch"],
            check=True,
            capture_output=True,
            timeout=600,
        )
        controller = self.port + 1
        self.props.write_text(
            "process.roles=broker,controller\n"
            "node.id=1\n"
            f"controller.quorum.voters=1@127.0.0.1:{controller}\n"
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{controller}\n"
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}\n"
            "inter.broker.listener.name=PLAINTEXT\n"
            "controller.listener.names=CONTROLLER\n"
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n"
            f"log.dirs={self.home / 'data'}\n"
            "offsets.topic.replication.factor=1\n"
            "offsets.topic.num.partitions=1\n"
            "transaction.state.log.replication.factor=1\n"
            "transaction.state.log.min.isr=1\n"
            "transaction.state.log.num.partitions=1\n"
            "group.initial.rebalance.delay.ms=0\n"
            "auto.create.topics.enable=false\n"
        )
        self.log4j.write_text(
            "log4j.rootLogger=INFO, file\n"
            "log4j.appender.file=org.apache.log4j.FileAppender\n"
            "log4j.appender.file.File=${kafka.logs.dir}/server.log\n"
            "log4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
        )
        self.logs.mkdir()
        done = subprocess.run(
            [
                *self._java("-Xmx256m"),
                "kafka.tools.StorageTool",
                "format",
                "-t",
                CLUSTER_ID,
                "-c",
                str(self.props),
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
        if done.returncode != 0:
            raise RuntimeError(f"kafka-storage format failed:\n{done.stdout}{done.stderr}")

    def _java(self, heap: str) -> list[str]:
        return [
            "java",
            heap,
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.logs}",
            f"-Dlog4j.configuration=file:{self.log4j}",
            "-cp",
            f"{self.libs}/*",
        ]

    def _server_log(self) -> str:
        path = self.logs / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _launch(self) -> None:
        with (self.logs / "kafka.out").open("ab") as out:
            self.process = subprocess.Popen(
                [*self._java("-Xmx512m"), "kafka.Kafka", str(self.props)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def start(self) -> None:
        """Start on the same data as before and wait until it serves."""
        starts_before = self._server_log().count("Kafka Server started")
        self._launch()

        async def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"Kafka exited:\n{self._server_log()[-3000:]}")
            started = self._server_log().count("Kafka Server started") > starts_before
            return started and port_open(self.port)

        await eventually(ready, timeout=120, interval=0.5, what="the chaos broker started")

    async def stop(self) -> None:
        """A real stop (SIGTERM, a clean shutdown), not a pause: connections are refused."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)

        async def gone() -> bool:
            assert self.process is not None
            return self.process.poll() is not None

        try:
            await eventually(gone, timeout=30, interval=0.2, what="the chaos broker stopped")
        except AssertionError:
            self.process.kill()
            self.process.wait(timeout=10)

    async def remove(self) -> None:
        await self.stop()
        shutil.rmtree(self.home, ignore_errors=True)

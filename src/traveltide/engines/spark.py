"""Apache Spark as the engine: a local session (`local[2]`), a cluster master (`spark://`,
`yarn`, `k8s://`) or Spark Connect (`sc://host:15002`), running the stages' SQL in Spark's
dialect (`engines.dialect`).

Nothing here imports pyspark or sqlglot until a Spark engine is opened: the DuckDB path of
every stage never loads them. Before Spark starts, what would otherwise hang or print a Java
stack trace is checked and said in one line: the Java runtime (a local or cluster master
starts a JVM here), and that the master's host and port answer. Spark's own log goes to a file
(`SparkEngine.log`), never to the terminal; a failed query or job is one EngineError line.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from traveltide.config import SparkConfig
from traveltide.engines.base import Check, ColumnKind, Queries, column_kind
from traveltide.engines.dialect import to_spark
from traveltide.engines.errors import EngineError, engine_error
from traveltide.errors import DataError
from traveltide.io import atomic_path

MIN_JAVA = 17
CONNECT_TIMEOUT_S = 5.0
_DEFAULT_PORT = {"sc": 15002, "spark": 7077}
_TYPES = {"DOUBLE": "double", "VARCHAR": "string", "BIGINT": "bigint", "BOOLEAN": "boolean"}
_LOG4J = """\
rootLogger.level = warn
rootLogger.appenderRef.file.ref = file
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{{HH:mm:ss}} %p %c{{1}}: %m%n
"""
T = TypeVar("T")


def master_endpoints(master: str) -> list[tuple[str, int]]:
    """The (host, port) pairs a master URL names; none for local, yarn and k8s masters.

    >>> master_endpoints("sc://spark.example:15002/;use_ssl=true")
    [('spark.example', 15002)]
    >>> master_endpoints("spark://a:7077,b"), master_endpoints("local[2]")
    ([('a', 7077), ('b', 7077)], [])
    """
    scheme, sep, rest = master.partition("://")
    if not sep or scheme not in _DEFAULT_PORT:
        return []
    hosts = re.split(r"[/;]", rest, maxsplit=1)[0]
    endpoints = []
    for part in hosts.split(","):
        host, _, port = part.rpartition(":") if ":" in part else (part, "", "")
        endpoints.append((host, int(port) if port else _DEFAULT_PORT[scheme]))
    return endpoints


def check_reachable(master: str, *, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Some endpoint of the master accepts a TCP connection; else one line saying which not."""
    endpoints = master_endpoints(master)
    problems = []
    for host, port in endpoints:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            return
        except OSError as exc:
            problems.append(f"{host}:{port} ({exc.strerror or type(exc).__name__})")
    if problems:
        raise EngineError(
            f"spark: engine.spark.master {master}: cannot connect to {', '.join(problems)}"
        )


def java_version(text: str) -> int | None:
    """The major version in `java -version` output: 17 for `"17.0.15"`, 8 for `"1.8.0_412"`."""
    found = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def check_java(environ: dict[str, str] | os._Environ[str] = os.environ) -> str:
    """The `java` Spark will start (JAVA_HOME's, else PATH's), if it is Java 17 or later."""
    home = environ.get("JAVA_HOME")
    java = (
        str(Path(home, "bin", "java")) if home else shutil.which("java", path=environ.get("PATH"))
    )
    where = f"JAVA_HOME={home}" if home else "PATH"
    hint = f"Spark needs Java {MIN_JAVA} or later (Debian: apt-get install openjdk-17-jre-headless)"
    if not java or not Path(java).is_file():
        raise EngineError(f"spark: no Java found on {where}: {hint}")
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineError(f"spark: {java} does not run ({exc}): {hint}") from None
    version = java_version(done.stderr + done.stdout)
    if version is None or version < MIN_JAVA:
        raise EngineError(f"spark: {java} is Java {version or 'of unknown version'}: {hint}")
    return java


class SparkEngine:
    """A Spark session for one stage; `close` stops it."""

    name = "spark"

    def __init__(self, config: SparkConfig) -> None:
        self.master = config.master
        self.remote = config.master.startswith("sc://")
        if not self.remote:
            check_java()
        check_reachable(config.master)
        try:
            import pyspark  # noqa: F401
            import sqlglot  # noqa: F401
        except ImportError as exc:
            raise EngineError(
                f"spark: {exc.name} is not installed: pip install 'traveltide[spark]'"
            ) from None
        self._folder = tempfile.mkdtemp(prefix="traveltide-spark-")
        self._keep_log = False  # a failure keeps Spark's log for the user to read
        self._inputs: dict[str, str] = {}  # view -> the file it reads, for error messages
        self.log = Path(self._folder, "spark.log")
        try:
            self.session = self._call(lambda: self._start(config), f"starting {config.master}")
        except EngineError:
            if not self.remote:
                _stop_jvm()
            raise

    def _start(self, config: SparkConfig) -> Any:
        from pyspark.sql import SparkSession

        warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
        logging.getLogger("py4j").setLevel(logging.WARNING)
        confs = {
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.parquet.compression.codec": "zstd",
            "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
        }
        if self.remote:
            builder = SparkSession.builder.remote(config.master)
            for key, value in {**confs, **config.conf}.items():
                builder = builder.config(key, value)
            return builder.getOrCreate()
        # A Spark Connect session earlier in this process (a notebook, a test) leaves pyspark's
        # process-wide flag set, and pyspark then refuses to create a classic SparkContext
        os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)
        return SparkSession(self._local_context(config, confs))

    def _local_context(self, config: SparkConfig, confs: dict[str, str]) -> Any:
        """A SparkContext whose JVM writes its output (start-up warnings, a task's stack trace)
        and its log (log4j) to `self.log`, never to the terminal."""
        from pyspark import SparkConf, SparkContext
        from pyspark.java_gateway import launch_gateway

        log4j = Path(self._folder, "log4j2.properties")
        log4j.write_text(_LOG4J.format(log=self.log), encoding="utf-8")
        confs |= {
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            # not ./spark-warehouse: the stage's working folder is the repository
            "spark.sql.warehouse.dir": str(Path(self._folder, "warehouse")),
            "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{log4j}",
        }
        if config.master.startswith("local"):  # the loopback interface, few shuffle partitions
            confs |= {
                "spark.driver.host": "127.0.0.1",
                "spark.driver.bindAddress": "127.0.0.1",
                "spark.sql.shuffle.partitions": "8",
            }
        conf = SparkConf().setMaster(config.master).setAppName("traveltide")
        for key, value in {**confs, **config.conf}.items():
            conf.set(key, value)
        with open(self.log, "ab") as out:  # the JVM keeps its own copy of the descriptor
            gateway = launch_gateway(conf, popen_kwargs={"stdout": out, "stderr": out})
        return SparkContext(conf=conf, gateway=gateway)

    def _call(self, fn: Callable[[], T], doing: str) -> T:
        """`fn()`, with any Spark or Py4J failure as one line (the JVM's trace stays in the log)."""
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException

        try:
            return fn()
        except (PySparkException, Py4JError) as exc:
            reading = [path for path in self._inputs.values() if path not in doing]
            error = engine_error(self.name, doing, _spark_message(exc), reading)
            if self.log.exists():
                self._keep_log = True
                error = EngineError(f"{error} (Spark's log: {self.log})")
            raise error from None

    def load(self, view: str, path: Path, *, what: str) -> dict[str, ColumnKind]:
        path = Path(path)
        if not path.exists():
            raise DataError(f"{path}: missing input ({what}); run `dvc repro` to rebuild it")
        frame = self._call(
            lambda: self.session.read.parquet(str(path.resolve())), f"reading {path}"
        )
        if view != "written":
            self._inputs[view] = str(path)
        self._call(lambda: frame.createOrReplaceTempView(view), f"reading {path}")
        return {name: column_kind(kind) for name, kind in frame.dtypes}

    def lookup(self, view: str, columns: dict[str, str], rows: Sequence[tuple[Any, ...]]) -> None:
        schema = ", ".join(f"{name} {_TYPES[kind]}" for name, kind in columns.items())

        def make() -> None:
            self.session.createDataFrame(list(rows), schema).createOrReplaceTempView(view)

        self._call(make, f"making {view}")

    def view(self, name: str, sql: str) -> None:
        text = to_spark(sql)
        self._call(lambda: self.session.sql(text).createOrReplaceTempView(name), f"defining {name}")

    def table(self, name: str, sql: str, *, serial: bool = False) -> None:
        """A cached view: Spark would otherwise compute it again in every query that reads it."""
        text = to_spark(sql)

        def cache() -> None:
            self.session.sql(f"UNCACHE TABLE IF EXISTS {name}")
            self.session.sql(f"DROP VIEW IF EXISTS {name}")
            self.session.sql(f"CACHE TABLE {name} AS {text}")

        self._call(cache, f"computing {name}")

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        text = to_spark(sql)
        return self._call(lambda: [tuple(r) for r in self.session.sql(text).collect()], "querying")

    def write(
        self, sql: Queries, target: Path, *, serial: bool = False, check: Check | None = None
    ):
        """One part file (`coalesce(1)` keeps the ORDER BY's order, and a union its inputs'
        order), moved onto `target`."""
        target = Path(target)
        for stale in target.parent.glob(f".{target.name}.spark-*"):
            shutil.rmtree(stale, ignore_errors=True)  # left by a killed run
        folder = target.parent / f".{target.name}.spark-{uuid.uuid4().hex[:8]}"
        texts = [to_spark(q) for q in ([sql] if isinstance(sql, str) else sql)]

        def run() -> None:
            frames = [self.session.sql(text) for text in texts]
            frame = functools.reduce(lambda a, b: a.union(b), frames).coalesce(1)
            frame.write.mode("overwrite").option("compression", "zstd").parquet(str(folder))

        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._call(run, f"writing {target}")
            parts = sorted(folder.glob("part-*.parquet"))
            if len(parts) != 1:
                raise EngineError(f"spark: writing {target}: {len(parts)} part files, not 1")
            if check is not None:  # on the part file: Spark skips files whose name starts "."
                self.load("written", parts[0], what="the file just written")
                check("written")
            with atomic_path(target) as tmp:
                os.replace(parts[0], tmp)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a broken session must not hide the error
            self.session.stop()
        if not self.remote:
            _stop_jvm()
        if not self._keep_log:
            shutil.rmtree(self._folder, ignore_errors=True)


def _stop_jvm() -> None:
    """End the JVM pyspark keeps for the process. pyspark reuses one gateway for every later
    SparkContext, and a reused JVM never puts a new session's `spark.jars` (the JDBC driver)
    on its class path, so each engine starts and stops its own."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    SparkContext._gateway = None
    SparkContext._jvm = None
    if gateway is None:
        return
    with contextlib.suppress(Exception):
        gateway.shutdown()
    proc = getattr(gateway, "proc", None)
    if proc is not None:  # the gateway server exits when its stdin closes
        with contextlib.suppress(Exception):
            proc.stdin.close()
            proc.wait(timeout=30)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _spark_message(exc: BaseException) -> str:
    """The line that says what failed: Spark's error class and message, without Py4J's wrapper
    or the Java exception's class name."""
    text = None
    java = getattr(exc, "java_exception", None)
    if java is not None:  # an uncaptured Py4JJavaError: its own first line names a Java method
        with contextlib.suppress(Exception):  # the JVM may be gone
            text = str(java.toString())
    if text is None:
        message = getattr(exc, "getMessage", None)
        text = (message() if callable(message) else None) or str(exc)
    return re.sub(r"^(?:[\w$]+\.)+[\w$]*(?:Exception|Error): ", "", str(text).lstrip())

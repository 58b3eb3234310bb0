"""Benchmark harness: `make bench`.

Fills a separate PostgreSQL database (`<name>_bench`) with 1,000,000 clients once (reused on
later runs), then runs every `bench/bench_*.py` module. Each module exposes
`run(ctx) -> list[Result]`; every result is measured beside a baseline (raw SQL or another
reference doing the same work) in the same run. Prints a table and writes bench/results.json:
    {"name": {"value": ..., "unit": ..., "baseline": ..., "ratio": ...}}

    python bench/run.py [--clients N] [--reseed] [--only NAME]

Figures at another size than 1,000,000 go to bench/results-<size>.json (e.g. results-10m.json).

`--reseed` drops the benchmark database, seeds it anew and times the seed (`seed_demo_clients`)
beside raw COPY of the same client rows.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@dataclass
class Result:
    name: str
    value: float
    unit: str
    baseline: float | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return round(self.value / self.baseline, 3)


@dataclass
class Context:
    database_url: str
    clients: int
    seed_seconds: float | None

    def psql_url(self) -> str:
        return self.database_url


def timed(fn: Callable[[], object], repeat: int = 3) -> float:
    """Median wall time in milliseconds of `repeat` runs (after one warm-up)."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def timed_pair(
    ours: Callable[[], object], baseline: Callable[[], object], repeat: int = 25
) -> tuple[float, float]:
    """Median wall times in milliseconds of `ours` and its `baseline`, run in turns (after one
    warm-up each), the one that goes first alternating: a shared machine's speed drifts by a
    third within minutes, and both figures of a ratio must see the same drift."""
    ours()
    baseline()
    samples: tuple[list[float], list[float]] = ([], [])
    for i in range(repeat):
        for which in (0, 1) if i % 2 == 0 else (1, 0):
            start = time.perf_counter()
            (ours, baseline)[which]()
            samples[which].append((time.perf_counter() - start) * 1000)
    return statistics.median(samples[0]), statistics.median(samples[1])


def bench_database_url() -> str:
    from portal.scratch_db import database_name, sibling_url

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal")
    return sibling_url(base, f"{database_name(base)}_bench")


def seed_copy_baseline(url: str) -> float:
    """The seed's baseline: raw COPY of the very client rows the seed wrote into licensing_client
    as it stands (every index, unique and check constraint, foreign keys checked), starting empty
    like the seed, in a transaction that is rolled back (TRUNCATE ... CASCADE empties the table
    and the tables that refer to it for the COPY only). The rows are read out beforehand, off
    the clock. Seconds."""
    import psycopg

    chunks: list[bytes] = []
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        with cursor.copy("COPY licensing_client TO STDOUT") as copy:
            chunks.extend(bytes(chunk) for chunk in copy)
        cursor.execute("TRUNCATE licensing_client CASCADE")
        start = time.perf_counter()
        with cursor.copy("COPY licensing_client FROM STDIN") as copy:
            for chunk in chunks:
                copy.write(chunk)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        seconds = time.perf_counter() - start
        conn.rollback()
    return seconds


def seeded_clients(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        try:
            return conn.execute("SELECT count(*) FROM licensing_client").fetchone()[0]
        except psycopg.errors.UndefinedTable:
            return 0


def python_speed_ms() -> float:
    """How fast this interpreter runs plain Python: ten million additions in a loop (ms, the
    median of 3). A page is mostly Python and its baseline is C, so a page's ratio depends on
    the interpreter's build as much as on the portal: on one machine this loop took 1,131 ms in
    pyenv's Python 3.13.0 (built without profile-guided optimisation) and 455 ms in Debian's
    Python 3.11 (built with it). Recorded beside every figure so that runs can be compared."""

    def loop() -> None:
        total = 0
        for i in range(10_000_000):
            total += i

    return round(timed(loop, 3))


def _size_label(clients: int) -> str:
    if clients % 1_000_000 == 0:
        return f"{clients // 1_000_000}m"
    return f"{clients // 1000}k" if clients % 1000 == 0 else str(clients)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    from portal.scratch_db import ensure_database

    url = bench_database_url()
    os.environ.update(
        DATABASE_URL=url,
        PORTAL_TESTING="1",
        DEBUG="0",
        DATABASE_POOL="0",
        DJANGO_SETTINGS_MODULE="portal.settings",
    )
    ensure_database(url, fresh=args.reseed)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], check=True)
    seed_seconds = None
    if args.reseed or seeded_clients(url) != args.clients:
        print(
            f"Seeding {args.clients:,} clients into {url.rsplit('/', 1)[1]} (once; reused later)...",
            flush=True,
        )
        start = time.perf_counter()
        subprocess.run(
            [*manage, "seed_demo", "--clients", str(args.clients), "--extra-organisations", "97"],
            check=True,
        )
        seed_seconds = time.perf_counter() - start
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import psycopg,sys; c=psycopg.connect(sys.argv[1], autocommit=True); c.execute('VACUUM ANALYZE')",
                url,
            ],
            check=True,
        )

    import django

    django.setup()
    ctx = Context(database_url=url, clients=args.clients, seed_seconds=seed_seconds)
    results: list[Result] = []
    if seed_seconds is not None:
        print("Baseline: raw COPY of the seeded client rows ...", flush=True)
        results.append(
            Result(
                "seed_demo_clients",
                round(seed_seconds, 2),
                "s",
                round(seed_copy_baseline(url), 2),
                f"`manage.py seed_demo --clients {args.clients:,}` into a new database (clients "
                "generated in SQL with their flags, MAK activations, flag history, sweep, "
                "snapshots, demo users) vs raw COPY of the same client rows into "
                "licensing_client with its indexes and foreign keys",
            )
        )
    for path in sorted((ROOT / "bench").glob("bench_*.py")):
        if args.only and args.only not in path.stem:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"running {path.stem}...", flush=True)
        load_before = os.getloadavg()[0]
        measured = module.run(ctx)
        # The machine's load while the module ran (1-minute average, before and after): on a
        # shared machine a figure is only comparable with others taken under a similar load.
        load = round(max(load_before, os.getloadavg()[0]), 1)
        for r in measured:
            r.extra.setdefault("load_avg", load)
        results.extend(measured)

    # results.json holds the figures at 1M (the goals, docs/benchmarks.md); another size writes
    # its own file (results-10m.json), so a 10M run never overwrites them.
    out = (
        ROOT
        / "bench"
        / (
            "results.json"
            if args.clients == 1_000_000
            else f"results-{_size_label(args.clients)}.json"
        )
    )
    previous = json.loads(out.read_text()) if out.exists() else {}
    python = {"python": platform.python_version(), "python_loop_ms": python_speed_ms()}
    for r in results:
        previous[r.name] = {
            "value": r.value,
            "unit": r.unit,
            "baseline": r.baseline,
            "ratio": r.ratio,
            "note": r.note,
            "measured_on": time.strftime("%Y-%m-%d", time.gmtime()),
            **python,
            **r.extra,
        }
    # One line per benchmark, sorted: a run changes only the lines of what it measured.
    lines = [f"  {json.dumps(k)}: {json.dumps(previous[k])}" for k in sorted(previous)]
    out.write_text("{\n" + ",\n".join(lines) + "\n}\n")
    print()
    print(f"{'benchmark':<44} {'value':>12} {'baseline':>12} {'ratio':>7}  note")
    for r in results:
        baseline = "" if r.baseline is None else f"{r.baseline:.2f}"
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}x"
        print(f"{r.name:<44} {r.value:>9.2f} {r.unit:<2} {baseline:>12} {ratio:>7}  {r.note}")
    print(f"\nwritten to {out.relative_to(ROOT)}")
    _ = asdict  # results are plain dataclasses


if __name__ == "__main__":
    main()

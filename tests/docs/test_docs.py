"""The docs stay true: the site builds in strict mode (no broken link or image), the generated
pages are current, every setting on the configuration page is read by portal/settings.py with
exactly the default shown, and every command the README and the docs name answers --help."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

from tests.licensing.test_env_example import _settings_reads, shown_value

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_the_site_builds_in_strict_mode(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "index.html").exists()


def test_the_generated_pages_are_current():
    out = subprocess.run(
        [sys.executable, "scripts/docs_gen.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr


def test_the_benchmarks_page_names_the_load_and_the_interpreter_of_each_figure():
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_gen", ROOT / "scripts" / "docs_gen.py")
    docs_gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(docs_gen)
    measured = {"load_avg": 2.0, "python": "3.13.0", "python_loop_ms": 1131}
    assert docs_gen._load(measured) == " (load 2; Python 3.13.0, loop 1,131 ms)"
    assert docs_gen._load({"load_avg": 1.5}) == " (load 1.5)"
    assert docs_gen._load({}) == ""


def _documented_settings() -> dict[str, str]:
    text = (ROOT / "docs" / "configuration.md").read_text()
    return dict(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \| `([^`]*)` \|", text, re.M))


def test_every_setting_is_documented_with_its_real_default():
    documented = _documented_settings()
    reads = _settings_reads()
    assert set(documented) == set(reads), set(documented) ^ set(reads)
    wrong = {}
    for name, (reader, default) in reads.items():
        shown = documented[name]
        if default is ... or "(depends" in shown:
            assert default is ... or "(depends" in shown or shown, name
            continue
        shown = "" if shown == "(empty)" else shown
        if shown_value(reader, shown) != (default if default is not None else ""):
            wrong[name] = (shown, default)
    assert wrong == {}


def _named_commands() -> tuple[set[str], set[str], set[str]]:
    """manage.py commands, scripts (scripts/x.py, bench/run.py) and make targets named in
    the README and the docs."""
    manage, scripts, make = set(), set(), set()
    for path in DOC_FILES:
        text = path.read_text()
        manage |= set(re.findall(r"manage\.py ([a-z_]+)", text))
        scripts |= set(re.findall(r"python ((?:scripts|bench)/[a-z_]+\.py)\b", text))
        make |= set(re.findall(r"`make ([a-z][a-z-]*)", text))
    return manage, scripts, make


def test_the_commands_are_found():
    manage, scripts, make = _named_commands()
    assert {"backup", "restore", "seed_demo", "rotate_field_keys"} <= manage
    assert {
        "scripts/docs_gen.py",
        "scripts/screenshots.py",
        "scripts/upgrade_fixture.py",
    } <= scripts
    assert {"run", "test", "docs", "bench"} <= make


def test_every_manage_py_command_named_answers_help():
    manage, _, _ = _named_commands()
    commands = get_commands()
    for name in sorted(manage):
        assert name in commands, f"manage.py {name} is named in the docs but does not exist"
        parser = load_command_class(commands[name], name).create_parser("manage.py", name)
        assert parser.format_help().startswith("usage: manage.py " + name), name


@pytest.mark.parametrize("script", sorted(_named_commands()[1]))
def test_every_script_named_answers_help(script):
    out = subprocess.run(
        [sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and "usage:" in out.stdout, out.stderr


def test_every_make_target_named_exists():
    _, _, make = _named_commands()
    makefile = (ROOT / "Makefile").read_text()
    for target in make:
        assert re.search(rf"^{target}:", makefile, re.M), f"make {target}"


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "celery", "-A", "portal", "worker", "--help"],
        ["-m", "celery", "-A", "portal", "beat", "--help"],
        ["-m", "gunicorn", "--help"],
        ["-m", "mkdocs", "serve", "--help"],
    ],
    ids=["celery-worker", "celery-beat", "gunicorn", "mkdocs-serve"],
)
def test_the_process_commands_of_the_docs_answer_help(command):
    text = "\n".join(p.read_text() for p in DOC_FILES)
    program = command[1] if command[1] != "celery" else f"celery -A portal {command[4]}"
    assert program in text  # the docs name it
    out = subprocess.run(
        [sys.executable, *command], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0 and "usage" in (out.stdout + out.stderr).lower(), out.stderr

"""`.env.example` lists every variable that portal/settings.py reads, and where settings has a
plain default, the example shows that very value (a default is defined once, in settings)."""

from __future__ import annotations

import ast
import operator
import re
from pathlib import Path

import environ

ROOT = Path(__file__).resolve().parents[2]
READERS = {"str", "bool", "int", "float", "list", "db"}
_ARITHMETIC = {ast.Mult: operator.mul, ast.Add: operator.add}


def _constant(node: ast.AST) -> object:
    """The value of a literal or of literal arithmetic (8 * 3600); ValueError otherwise."""
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        return _ARITHMETIC[type(node.op)](_constant(node.left), _constant(node.right))
    return ast.literal_eval(node)


def _settings_reads() -> dict[str, tuple[str, object]]:
    """Variable -> (reader, default) for each env.X("NAME", default=...) and _secret("NAME")."""
    reads: dict[str, tuple[str, object]] = {}
    tree = ast.parse((ROOT / "portal" / "settings.py").read_text())
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.args[0]
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "_secret":
            reads[name.value] = ("secret", ...)
        elif (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "env"
            and func.attr in READERS
        ):
            default = next((k.value for k in node.keywords if k.arg == "default"), None)
            try:
                reads[name.value] = (func.attr, _constant(default) if default else ...)
            except ValueError:  # depends on other settings: documented, not compared
                reads[name.value] = (func.attr, ...)
    return reads


def _example() -> dict[str, str | None]:
    """Variable -> value in .env.example; None for a line left commented out."""
    found: dict[str, str | None] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if match := re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line):
            found[match[1]] = match[2]
        elif match := re.fullmatch(r"#([A-Z][A-Z0-9_]*)=.*", line):
            found[match[1]] = None
    return found


def shown_value(reader: str, shown: str) -> object:
    """The value the settings' `env.<reader>` gives for the text `shown`."""
    if reader == "db":
        return shown
    if reader == "list":
        return [v for v in shown.split(",") if v]
    return environ.Env.parse_value(
        shown, {"str": str, "bool": bool, "int": int, "float": float}[reader]
    )


def test_every_variable_settings_reads_is_in_the_example():
    assert set(_settings_reads()) - set(_example()) == set()
    assert set(_example()) - set(_settings_reads()) == set()


def test_the_example_shows_the_real_defaults():
    example = _example()
    wrong = {}
    for name, (reader, default) in _settings_reads().items():
        if default is ... or example[name] is None:
            continue
        shown = example[name]
        if shown_value(reader, shown) != (default if default is not None else ""):
            wrong[name] = (shown, default)
    assert wrong == {}


def test_no_value_carries_a_comment_the_env_reader_would_keep():
    for line in (ROOT / ".env.example").read_text().splitlines():
        assert not re.fullmatch(r"[A-Z][A-Z0-9_]*=.*\s#.*", line), line

"""Real tool output the tests read: byte-for-byte copies of the project's shared samples
(sources in README.md beside this file). Keep them unedited."""

from pathlib import Path

SAMPLES = Path(__file__).resolve().parent


def read_sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8", errors="replace")

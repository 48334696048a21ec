"""The documentation integrators and new users rely on stays true to the code."""
import re
from pathlib import Path

from core import hookspecs

ROOT = Path(__file__).resolve().parent.parent


def hookspec_names():
    return sorted(name for name, value in vars(hookspecs).items()
                  if callable(value) and hasattr(value, "vaxchain_spec"))


def test_every_hookspec_has_a_docstring():
    assert hookspec_names(), "no hookspecs found"
    for name in hookspec_names():
        assert (getattr(hookspecs, name).__doc__ or "").strip(), name


def test_every_hookspec_is_documented_in_hooks_md():
    text = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^#+ `(\w+)`", text, re.M))
    missing = [name for name in hookspec_names() if name not in headings]
    assert missing == [], f"docs/hooks.md lacks a section for: {missing}"


def test_readme_quick_start_is_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```(?:sh|bash|shell)?\n(.*?)```", quick_start, re.S)
    lines = [line for block in commands for line in block.splitlines() if line.strip()]
    assert lines == ["make demo", "make test"]


def test_readme_lists_the_demo_passwords_that_init_creates():
    from core.demo import DEMO_USERS

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for username, password, _role in DEMO_USERS:
        assert username in text and password in text

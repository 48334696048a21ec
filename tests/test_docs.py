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


ROLE_GUIDES = ("admin.md", "warehouse.md", "logistics.md", "sites.md")
ENGLISH_HEADING = re.compile(r"^# .*\(English\)\s*$", re.M)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def markdown_files():
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def prose(text):
    """The text outside code blocks and inline code, where a bracket is not a link."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def local_targets(text):
    for target in LINK.findall(prose(text)):
        if not re.match(r"[a-z][a-z0-9+.-]*:", target) and not target.startswith("#"):
            yield target.split("#", 1)[0]


def halves(name):
    text = (ROOT / "docs" / name).read_text(encoding="utf-8")
    parts = ENGLISH_HEADING.split(text)
    assert len(parts) == 2, f"docs/{name} needs exactly one '# … (English)' heading, found {len(parts) - 1}"
    return parts


def test_every_relative_link_and_image_in_the_docs_points_to_a_file():
    broken = [f"{path.relative_to(ROOT)}: {target}"
              for path in markdown_files()
              for target in local_targets(path.read_text(encoding="utf-8"))
              if not (path.parent / target).exists()]
    assert broken == [], "links to missing files:\n" + "\n".join(broken)


def test_the_link_check_sees_links_images_and_skips_code_and_web_addresses():
    text = ("See [ops](operations.md#backups) and ![scan](screenshots/a.png).\n"
            "`[not](a-link.md)` [web](https://example.org) [here](#top)\n```\n[code](b.md)\n```\n")
    assert list(local_targets(text)) == ["operations.md", "screenshots/a.png"]


def test_each_role_guide_has_a_vietnamese_part_then_an_english_part():
    for name in ROLE_GUIDES:
        vietnamese, english = halves(name)
        assert re.search(r"^# Hướng dẫn", vietnamese, re.M), f"docs/{name}: no Vietnamese '# Hướng dẫn…' title"
        assert len(english.split()) > 0.55 * len(vietnamese.split()), \
            f"docs/{name}: the English part is much shorter than the Vietnamese one"


def test_both_parts_of_each_role_guide_show_the_same_screenshots():
    for name in ROLE_GUIDES:
        vietnamese, english = halves(name)
        assert IMAGE.findall(vietnamese) == IMAGE.findall(english), f"docs/{name}: screenshots differ"


def test_the_docs_index_links_every_role_guide():
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    missing = [name for name in ROLE_GUIDES if f"]({name})" not in index]
    assert missing == [], f"docs/README.md does not link: {missing}"


def heading_levels(text):
    return [len(marks) for marks in re.findall(r"^(#+) ", prose(text), re.M)]


def test_both_parts_of_each_role_guide_have_the_same_sections():
    for name in ROLE_GUIDES:
        vietnamese, english = halves(name)
        assert heading_levels(vietnamese)[1:] == heading_levels(english), \
            f"docs/{name}: the English part's sections differ from the Vietnamese part's"

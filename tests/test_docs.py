"""The README as a front door, and the manual (docs/, built by MkDocs from mkdocs.yml) as a whole:
every relative link lands on a repository file and every #anchor on a heading (GitHub's rule), the
strict build fails on a broken link, anchor or nav entry, every command names real targets, scripts,
configs and flags, and the config reference is a valid config naming every key."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml

from autoencoders import config as C
from autoencoders.cli import evaluate_parser, train_parser
from autoencoders.sweep import schedule as sweep

from conftest import ROOT, tracked_files

DOCS = ROOT / "docs"
README = ROOT / "README.md"
# Every page a reader is sent to: the README, the manual, and the measurement diary.
PAGES = [README, *sorted(DOCS.glob("*.md")), ROOT / "benchmarks" / "README.md"]
FENCE = re.compile(r"^```.*?^```[ \t]*$", flags=re.S | re.M)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def page_id(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def prose(text: str) -> str:
    """The text without fenced code blocks or inline code spans (whose brackets are not links)."""
    return re.sub(r"`[^`]*`", "code", FENCE.sub("", text))


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text as rendered (code, links and emphasis reduced to their
    words), lower case, everything but letters, digits, `_`, `-` and spaces dropped, spaces to `-`."""
    text = re.sub(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown file on GitHub: one per heading (a repeated one gets -1, -2, ...), and
    any `<a id>` or `<a name>`."""
    text = path.read_text()
    found: set[str] = set(re.findall(r"<a\s+(?:id|name)=\"([^\"]+)\"", text))
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", FENCE.sub("", text), flags=re.M):
        slug = github_slug(heading)
        found.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return found


def relative_links(page: Path) -> list[str]:
    return [url for url in LINK.findall(prose(page.read_text())) if not re.match(r"[a-z][a-z0-9+.-]*:", url, flags=re.I)]


# --- the README: a front door ---------------------------------------------------------------------


def test_the_readme_is_a_front_door_with_the_answer_on_its_first_screen():
    lines = README.read_text().splitlines()
    assert len(lines) <= 250
    assert not [n for n, line in enumerate(lines, 1) if len(line) > 300]
    start, end = lines.index("<!-- answer-table:start -->"), lines.index("<!-- answer-table:end -->")
    assert start < end and start < 40, "the answer table opens the README, on its first screen"
    assert "docs/findings.md" in relative_links(README)
    assert len(re.findall(r"!\[[^\]]*\]\((results/[^)]+\.png)\)", README.read_text())) == 1, "one figure"


def test_the_readme_quick_start_is_the_two_commands():
    quick = README.read_text().split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```bash\n(.*?)```", quick, flags=re.S)
    assert [line.split("#")[0].strip() for line in block.strip().splitlines()] == ["make demo", "make test"]


def test_the_readme_maps_every_top_level_folder_and_script():
    text = README.read_text()
    where = text.split("\n## Where things are\n", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"^\| \[`([^`]+)`\]", where, flags=re.M))
    assert named >= {
        "configs/",
        "autoencoders/",
        "train.py",
        "evaluate.py",
        "results/",
        "tests/",
        "benchmarks/",
        "notebooks/",
        "docs/",
        "scripts/",
    }
    tracked = tracked_files()
    folders = {f"{path.split('/')[0]}/" for path in tracked if "/" in path and not path.startswith(".")}
    assert folders <= named, folders - named


# --- links and anchors -----------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_relative_link_lands_on_a_repository_file_and_every_anchor_on_a_heading(page):
    broken = []
    for url in relative_links(page):
        path, _, anchor = url.partition("#")
        target = (page.parent / path).resolve() if path else page
        if url.startswith("/") or not target.exists() or ROOT not in (target, *target.parents):
            broken.append(f"{url}: no such file in the repository")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            broken.append(f"{url}: {page_id(target)} has no heading with that anchor")
    assert not broken, broken


def test_the_github_slug_rule():
    assert github_slug("The models (`model.arch`)") == "the-models-modelarch"
    assert (
        github_slug("`make demo` in 44 s: stored evaluations and two jobs (issue 13, latest; `benchmarks/results/bench_demo.json`)")
        == "make-demo-in-44-s-stored-evaluations-and-two-jobs-issue-13-latest-benchmarksresultsbench_demojson"
    )
    assert github_slug("BCE − MSE: what [the blog](https://blog.keras.io) says") == "bce--mse-what-the-blog-says"


# --- the MkDocs site -----------------------------------------------------------------------------


def nav_pages() -> list[str]:
    def walk(items):
        for item in items:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            yield from walk(value) if isinstance(value, list) else [value]

    return list(walk(yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]))


def test_the_nav_lists_every_page_of_the_manual_and_the_findings():
    nav = nav_pages()
    assert len(nav) == len(set(nav))
    assert set(nav) == {page.name for page in DOCS.glob("*.md")} | {"findings.md"}
    assert nav[:2] == ["index.md", "findings.md"]
    assert yaml.safe_load((ROOT / "mkdocs.yml").read_text())["strict"] is True


def build(folder: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    site = tmp_path / f"site-{len(list(tmp_path.glob('site-*')))}"
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_strict_build_fails_on_a_broken_page_link_anchor_nav_entry_or_repository_link(tmp_path):
    """On a copy of the manual beside the real repository (every other top-level entry a link to it):
    it builds, then each kind of break is an error of its own."""
    copy = tmp_path / "repo"
    copy.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in ("docs", "mkdocs.yml", ".git", "site"):
            (copy / entry.name).symlink_to(entry)
    shutil.copytree(DOCS, copy / "docs", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "mkdocs.yml", copy / "mkdocs.yml")
    built = build(copy, tmp_path)
    assert built.returncode == 0, built.stderr[-3000:]

    def edit(name: str, old: str, new: str) -> None:
        page = copy / "docs" / name
        assert old in page.read_text(), (name, old)
        page.write_text(page.read_text().replace(old, new, 1))

    edit("tests.md", "](survives.md)", "](survive.md)")
    edit("data.md", "](training.md#the-models-modelarch)", "](training.md#the-models)")
    edit("index.md", "](comparing.md)", "](comparing.md#no-such-heading)")
    edit("blog.md", "](../results/blog/REPORT.md)", "](../results/blog/REPORTS.md)")
    edit("findings.md", "](../results/study/figures/1-landscapes.png)", "](../results/study/figures/1-landscape.png)")
    mkdocs_yml = copy / "mkdocs.yml"
    mkdocs_yml.write_text(mkdocs_yml.read_text().replace("  - Tests: tests.md\n", "  - Tests: tests.md\n  - Gone: gone.md\n"))
    broken = build(copy, tmp_path)
    assert broken.returncode != 0
    for message in [
        "'tests.md' contains a link 'survive.md', but the target is not found",
        "'data.md' contains a link 'training.md#the-models', but the doc 'training.md' does not contain an anchor '#the-models'",
        "'index.md' contains a link 'comparing.md#no-such-heading', but the doc 'comparing.md' does not contain an anchor",
        "'blog.md' contains a link '../results/blog/REPORTS.md', but the target is not found",
        "'findings.md' contains a link '../results/study/figures/1-landscape.png', but the target is not found",
        "A reference to 'gone.md' is included in the 'nav' configuration, which is not found",
    ]:
        assert message in broken.stderr, (message, broken.stderr[-3000:])
    assert "is not found" not in built.stderr and "REPORT.md'" not in broken.stderr, "links to repository files that exist are not reported"


# --- commands ------------------------------------------------------------------------------------


def makefile_targets_and_variables() -> tuple[set[str], set[str]]:
    makefile = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][\w-]*):", makefile, flags=re.M)), set(re.findall(r"\$\((\w+)\)", makefile))


def commands(page: Path) -> list[list[str]]:
    """Every shell command the page gives, as its words: each line of a bash block (continuations
    joined, comments dropped), and every inline code span that starts with a program name; `&&`
    chains split into their commands."""
    text = page.read_text()
    lines = [
        line
        for block in re.findall(r"^```(?:bash|sh|shell)\n(.*?)^```", text, flags=re.S | re.M)
        for line in block.replace("\\\n", " ").splitlines()
    ]
    lines += [
        span
        for span in (" ".join(s.split()) for s in re.findall(r"`([^`]+)`", FENCE.sub("", text)))
        if re.match(r"(\.venv/bin/)?(python|make|pip|papermill|jupyter|mkdocs|tensorboard|ray) ", span)
    ]
    found = []
    for line in lines:
        words = shlex.split(line, comments=True)
        while words:
            end = words.index("&&") if "&&" in words else len(words)
            found.append(words[:end])
            words = words[end + 1 :]
    return found


def validate_train_args(args: list[str]) -> None:
    parsed = train_parser().parse_args(args)
    path = ROOT / parsed.config if (ROOT / parsed.config).is_file() else C.config_path(parsed.config)  # a file, or a shipped name
    assert path.is_file(), parsed.config
    if any("..." in o for o in parsed.overrides):  # a placeholder value (`dataset.path=...`): the flags and config alone
        return
    if sweep.is_sweep(path):
        assert sweep.expand(path, parsed.overrides)
    else:
        C.load_config(path, parsed.overrides)


def check_command(command: list[str] | str) -> None:
    words = shlex.split(command) if isinstance(command, str) else command
    elided = "..." in words  # `python evaluate.py --study ...`: the program and the flags shown, not a whole command
    words = [w for w in words if w != "..."]
    while words and re.match(r"[A-Z_]+=", words[0]):  # KERAS_BACKEND=jax ...
        words.pop(0)
    program, args = words[0].removeprefix(".venv/bin/"), words[1:]
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    if program == "make":
        targets, variables = makefile_targets_and_variables()
        assert all(a in targets or a.split("=")[0] in variables for a in args) and any(a in targets for a in args), command
    elif program == "python" and args[:1] == ["-c"]:
        compile(args[1], "<python -c>", "exec")
    elif program == "python" and args[:2] in (["-m", "autoencoders"],):
        from autoencoders import plugins
        from autoencoders.__main__ import COMMANDS

        assert args[2] in [*COMMANDS, *plugins.names(plugins.COMMANDS)], command
        if args[2] == "train" and "--config" in args:
            validate_train_args(args[3:])
        if args[2] == "diagnose" and args[3:]:  # a bare `python -m autoencoders diagnose` names the command
            from autoencoders.diagnose.command import parser as diagnose_parser

            parsed = diagnose_parser().parse_args(args[3:])
            assert (ROOT / parsed.model).is_file(), command
    elif program == "python" and args[0] == "train.py" and args[1:] == ["--help"]:
        with contextlib.redirect_stdout(io.StringIO()), pytest.raises(SystemExit) as exited:
            train_parser().parse_args(["--help"])
        assert exited.value.code == 0
    elif program == "python" and args[0] in ("train.py", "evaluate.py") and elided:
        parser = train_parser() if args[0] == "train.py" else evaluate_parser()
        assert all(a.split("=")[0] in parser._option_string_actions for a in args[1:] if a.startswith("--")), command
    elif program == "python" and args[0] == "train.py":
        validate_train_args(args[1:])
    elif program == "ae-train":
        validate_train_args(args)
    elif program == "python" and args[0] == "evaluate.py":
        evaluate_parser().parse_args(args[1:])
    elif program == "python":  # a script of benchmarks/ or scripts/: it exists and has every flag used
        script = ROOT / args[0]
        assert script.is_file() and script.parent.name in ("benchmarks", "scripts"), command
        source = script.read_text()
        for flag in (a.split("=")[0] for a in args[1:] if a.startswith("--")):
            assert f'"{flag}"' in source, (command, flag)
    elif program == "pip":
        assert args[:1] in ([], ["install"]), command
        for extra in re.findall(r"\[([\w,-]+)\]", " ".join(args)):
            assert set(extra.split(",")) <= set(extras), command
    elif program in ("jupyter", "papermill"):
        notebook = next(a for a in args if a.endswith(".ipynb"))
        assert (ROOT / notebook).is_file(), command
    elif program == "mkdocs":
        assert args[0] in ("build", "serve") and (ROOT / "mkdocs.yml").is_file(), command
    elif program == "tensorboard":
        assert args[:1] == ["--logdir"], command
    elif program == "ray":
        assert args[0] == "start", command
    else:
        raise AssertionError(f"{command}: no check for {program!r} commands; add one")


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_command_names_real_targets_scripts_configs_and_flags(page):
    found = commands(page)
    for command in found:
        check_command(command)
    if page in (README, DOCS / "training.md", DOCS / "sweeps.md"):
        assert found


def test_the_command_check_catches_a_wrong_command():
    for wrong in [
        "make dmeo",
        "python train.py --config configs/blog/dense.yaml --set loss.name=msee",
        "python train.py --config configs/blog/nothing.yaml",
        "python evaluate.py --out",
        "pip install -e .[gpus]",
        "python benchmarks/bench_train.py --round 1",
        "python -m autoencoders trian",
        "python -m autoencoders diagnose results/no/model.keras --data mnist",
    ]:
        with pytest.raises((AssertionError, SystemExit, C.ConfigError)), contextlib.redirect_stderr(io.StringIO()):
            check_command(wrong)


# --- the config reference ----------------------------------------------------------------------------


def test_the_config_reference_is_a_valid_config_that_names_every_key():
    reference = (DOCS / "config-reference.md").read_text()
    block = re.findall(r"```yaml\n(.*?)```", reference, flags=re.S)[1]  # the first is the schema line
    data = yaml.safe_load(block)
    C.parse_config(data, source="docs/config-reference.md")

    def keys(mapping, prefix=""):
        for key, value in mapping.items():
            yield from keys(value, f"{prefix}{key}.") if isinstance(value, dict) else [f"{prefix}{key}"]

    assert set(keys(data)) == set(C.to_flat_dict(C.load_config(ROOT / "configs" / "blog" / "dense.yaml")))

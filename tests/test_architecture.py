"""The house's one rule of structure: the library never imports the study built on it; the study
plugs in through the extension points of `autoencoders/plugins.py`."""

import ast
from pathlib import Path

import pytest

from autoencoders import plugins

from conftest import ROOT


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Every autoencoders module a file imports, as dotted names, at any depth of the file (lazy
    imports too), by absolute or relative name: `from autoencoders.study import blog` gives both
    `autoencoders.study` and `autoencoders.study.blog`."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(filter(None, [base, node.module or ""]))
            if module.split(".")[0] == "autoencoders":
                found.add(module)
                found.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "autoencoders")
    return found


def is_study(module: str) -> bool:
    return module == "autoencoders.study" or module.startswith("autoencoders.study.")


def test_no_library_module_imports_a_study_module():
    library = [p for p in (ROOT / "autoencoders").rglob("*.py") if "study" not in p.relative_to(ROOT / "autoencoders").parts]
    study = list((ROOT / "autoencoders" / "study").rglob("*.py"))
    assert len(library) > 30 and len(study) >= 8
    reaching = {p.relative_to(ROOT).as_posix(): sorted(filter(is_study, imported_modules(p))) for p in library}
    assert {path: names for path, names in reaching.items() if names} == {}


def test_the_checker_sees_a_lazy_and_a_relative_import(tmp_path):
    folder = tmp_path / "autoencoders" / "report"
    folder.mkdir(parents=True)
    module = folder / "m.py"
    module.write_text("def f():\n    from autoencoders.study.report import write_study\n    import autoencoders.study.blog\n")
    found = imported_modules(module, root=tmp_path)
    assert {"autoencoders.study.report", "autoencoders.study.blog"} <= found and all(map(is_study, found))
    module.write_text("from ..study import findings\nfrom .plots import x\n")
    assert imported_modules(module, root=tmp_path) >= {"autoencoders.study", "autoencoders.study.findings", "autoencoders.report.plots"}


def test_every_package_says_what_it_holds():
    for init in (ROOT / "autoencoders").rglob("__init__.py"):
        tree = ast.parse(init.read_text())
        assert ast.get_docstring(tree), f"{init.relative_to(ROOT)} has no docstring"


def test_the_study_plugs_in_through_the_extension_points():
    from autoencoders.study import blog, findings
    from autoencoders.study import gradient_probe as gradients
    from autoencoders.study import report as study

    assert plugins.entries(plugins.STUDY) == {"study": study.write_study}
    assert plugins.entries(plugins.COMMANDS)["findings"] is findings.findings_main
    assert plugins.entries(plugins.REPORT_SECTIONS)["blog"] is blog.blog_section
    probe = plugins.entries(plugins.TRAINING_CALLBACKS)["probe_gradients"]
    assert probe.factory == f"{gradients.__name__}:{gradients.probe_callback.__name__}"
    assert probe.works_with("sigmoid") and not probe.works_with("linear")
    assert plugins.entries(plugins.TRAINING_CALLBACKS) is plugins.entries(plugins.TRAINING_CALLBACKS)  # read once per process


def test_a_config_names_its_training_callbacks_and_old_run_folders_still_read(tmp_path):
    """`training.callbacks` holds names of the extension point; the key it replaced
    (`probe_gradients: true|false`, in run folders written before 2026-12-07) reads as it meant;
    a name nobody registered is refused with the names there are."""
    from autoencoders import config as C

    old = {"name": "old", "training": {"probe_gradients": True}}
    assert C.parse_config(old).training.callbacks == ("probe_gradients",)
    assert C.parse_config({"name": "old", "training": {"probe_gradients": False}}).training.callbacks == ()
    with pytest.raises(C.ConfigError, match=r"training.callbacks = \['nope'\] \(list\): expected a list, each one of 'probe_gradients'"):
        C.parse_config({"name": "x", "training": {"callbacks": ["nope"]}})

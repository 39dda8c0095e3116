"""The house's one rule of structure: the library never imports the study built on it; the study
plugs in through the extension points of `autoencoders/plugins.py`."""

import ast
from pathlib import Path

from autoencoders import plugins

from conftest import ROOT

#: the research built on the library: its report sections, figures, findings, collapse runs, theory, the blog comparison
STUDY = {"study", "findings", "collapse_study", "study_figures", "theory", "gradients", "collapse", "blog"}


def imported_modules(path: Path) -> set[str]:
    """Every autoencoders module a file imports, at any depth of the file (lazy imports too), by
    absolute or relative name."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:  # `from . import study`, `from .study import x`
            found.update([node.module.split(".")[-1]] if node.module else [alias.name for alias in node.names])
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "autoencoders":
            found.add(node.module.split(".")[-1])
            found.update(alias.name for alias in node.names)  # `from autoencoders import study`
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[-1] for alias in node.names if alias.name.split(".")[0] == "autoencoders")
    return found


def test_no_library_module_imports_a_study_module():
    library = [p for p in (ROOT / "autoencoders").rglob("*.py") if p.stem not in STUDY]
    assert len(library) > 25 and all((ROOT / "autoencoders" / f"{name}.py").is_file() for name in STUDY)
    reaching = {p.relative_to(ROOT).as_posix(): sorted(imported_modules(p) & STUDY) for p in library}
    assert {path: names for path, names in reaching.items() if names} == {}


def test_the_checker_sees_a_lazy_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from autoencoders.study import write_study\n    import autoencoders.blog\n")
    assert imported_modules(module) >= {"study", "blog"}
    module.write_text("from . import findings\nfrom .gradients import probe_callback\n")
    assert imported_modules(module) >= {"findings", "gradients"}


def test_the_study_plugs_in_through_the_extension_points():
    from autoencoders import blog, findings, gradients, study

    assert plugins.entries(plugins.STUDY) == {"study": study.write_study}
    assert plugins.entries(plugins.COMMANDS)["findings"] is findings.findings_main
    assert plugins.entries(plugins.REPORT_SECTIONS)["blog"] is blog.blog_section
    assert plugins.entries(plugins.TRAINING_CALLBACKS)["probe_gradients"] is gradients.probe_callback

"""The package's shape: no import cycles, nothing happens on import, the CLI mirrors the config."""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import numba
import pytest
import torch

from augmix.cli import build_parser, main
from augmix.train import TrainConfig

SRC = Path(__file__).resolve().parents[1] / "src" / "augmix"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str) -> set[str]:
    """augmix modules imported by ``path`` (at any depth: lazy imports count too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + [base]).strip(".")
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("augmix")}


def test_no_import_cycles_between_modules():
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        deps = {d for d in _imports(path, name) if d in modules and d != name}
        # a package's __init__ re-exports its children; importing the package is not a cycle with them
        graph[name] = {d for d in deps if not name.startswith(d + ".")}
    seen, stack = set(), []

    def visit(node: str) -> None:
        if node in stack:
            raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(node):] + [node]))
        if node in seen:
            return
        stack.append(node)
        for dep in sorted(graph[node]):
            if not dep.startswith(node + "."):
                visit(dep)
        stack.pop()
        seen.add(node)

    for name in sorted(graph):
        visit(name)
    assert "augmix.train.loop" not in {d for d in graph["augmix.evaluate"]}


def test_importing_augmix_changes_nothing_global():
    code = ("import matplotlib, torch; b = matplotlib.get_backend(); s = torch.get_rng_state(); "
            "import augmix, augmix.report, augmix.baselines, augmix.cli, augmix.train; "
            "assert matplotlib.get_backend() == b, 'backend switched'; "
            "assert torch.equal(torch.get_rng_state(), s), 'global RNG touched'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"MPLBACKEND": "svg", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-1500:]


def test_calls_leave_global_state_as_they_found_it():
    from augmix import baselines
    from augmix.augment import AugMixConfig, apply_tensor, sample_params
    from tests.conftest import smooth_images

    x = torch.from_numpy(smooth_images(8)).permute(0, 3, 1, 2).contiguous()
    state = torch.get_rng_state()
    baselines.make_uint8_transform("randaugment")(x, torch.Generator().manual_seed(0))
    assert torch.equal(torch.get_rng_state(), state)
    threads = numba.get_num_threads()
    apply_tensor(x, sample_params(8, AugMixConfig(), seed=0))
    assert numba.get_num_threads() == threads


def test_train_options_come_from_the_config_and_all_have_help(capsys):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    for verb, p in sub.items():
        for action in p._actions:
            if action.dest != "help":
                assert action.help, f"augmix {verb} {action.option_strings} has no help text"
    train_dests = {a.dest for a in sub["train"]._actions}
    assert {f.name for f in fields(TrainConfig)} <= train_dests
    model = next(a for a in sub["train"]._actions if a.dest == "model")
    assert "wrn40_2" in model.choices and "tiny" in model.choices
    dataset = next(a for a in sub["train"]._actions if a.dest == "dataset")
    assert "digits" in dataset.choices
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("augmix ")


@pytest.mark.parametrize("verb, config", [("train", "TrainConfig"), ("evaluate", "EvalConfig"),
                                          ("corrupt", "GenerateConfig"), ("perturb", "GenerateConfig")])
def test_every_config_field_reaches_its_verbs_help(verb, config, capsys, monkeypatch):
    """Each field of the verb's config is a flag in ``augmix VERB --help`` (or, for EvalConfig.sets,
    the registry benchmarks' own flags), with the field's help text: nothing is copied by hand."""
    from augmix.cli import _flag, _help_text
    from augmix.generation import GenerateConfig
    from augmix.suite import REGISTRY, EvalConfig

    cls = {"TrainConfig": TrainConfig, "EvalConfig": EvalConfig, "GenerateConfig": GenerateConfig}[config]
    monkeypatch.setenv("COLUMNS", "10000")  # no line breaks inside a help text
    assert main([verb, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for f in fields(cls):
        meta = f.metadata
        if verb not in meta.get("verbs", (verb,)) or (verb == "perturb" and f.name == "benchmark"):
            continue
        if meta.get("cli") is False:  # EvalConfig.sets: one flag per benchmark of the registry
            assert f.name == "sets"
            assert all(b.flag in text for b in REGISTRY.values())
            continue
        flag = f.name if meta.get("positional") else _flag(f, verb)
        assert flag in text, f"{config}.{f.name} has no flag in augmix {verb} --help"
        help_words = " ".join(_help_text(meta, verb).split())
        assert help_words and help_words[:60] in text, f"{config}.{f.name}'s help is not its flag's"


def test_the_api_reference_builds_offline(tmp_path):
    """`make api`'s modules, rendered by pdoc from the docstrings (what the README links)."""
    import re

    pytest.importorskip("pdoc", reason="pdoc is a dev extra: pip install -e '.[dev]'")
    makefile = (SRC.parents[1] / "Makefile").read_text()
    modules = re.search(r"API_MODULES = (.*?)\n\n", makefile, re.S).group(1).replace("\\\n", " ").split()
    proc = subprocess.run([sys.executable, "-m", "pdoc", "--docformat", "markdown", "-o", str(tmp_path), *modules],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert (tmp_path / "index.html").exists() and (tmp_path / "augmix" / "suite.html").exists()
    assert "run_evaluation" in (tmp_path / "augmix" / "suite.html").read_text()


def test_every_corruption_table_has_its_functions():
    """The corruption tables and each back-end's registry name the same corruptions (checked
    here, not by an assertion at import)."""
    from augmix.corruptions import functional, tensor
    from augmix.corruptions.cbar import TRANSFORMS
    from augmix.corruptions.tables import ALL, CBAR_ALL

    assert sorted(functional.CORRUPTIONS) == sorted(ALL)
    assert sorted(tensor.CORRUPTIONS) == sorted(ALL)
    assert sorted(TRANSFORMS) == sorted(CBAR_ALL)


def test_functions_read_top_to_bottom():
    """No function or method above cyclomatic complexity 30, and at most 3 between 21 and 30 (the
    compiled AugMix kernel's per-op dispatch): long functions are split into named steps."""
    complexity = pytest.importorskip("radon.complexity", reason="radon is a dev extra: pip install -e '.[dev]'")
    from radon.visitors import Class

    def blocks(path: Path):
        for block in complexity.cc_visit(path.read_text()):
            yield from (block.methods if isinstance(block, Class) else [block])

    scores = {f"{p.relative_to(SRC)}:{b.name}": b.complexity for p in SRC.rglob("*.py") for b in blocks(p)}
    assert not {k: v for k, v in scores.items() if v > 30}
    high = {k: v for k, v in scores.items() if v > 20}
    assert len(high) <= 3, high


def test_image_extensions_are_torchvisions():
    # restated in augmix.data.images so that walking a tree needs no torch; ImageFolder's own list
    from torchvision.datasets.folder import IMG_EXTENSIONS

    from augmix.data.images import IMAGE_EXTENSIONS

    assert IMAGE_EXTENSIONS == tuple(IMG_EXTENSIONS)

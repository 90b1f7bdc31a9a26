"""The evaluation suite: the clean test data and every benchmark of the registry (-C, -C-bar,
ImageNet-3DCC, -P and the natural shifts), in one run, into one results.json / report.md.

``EvalConfig`` holds the settings; ``run_evaluation`` runs them; ``REGISTRY`` lists the
benchmarks (``augmix.suite.registry``); each benchmark is one module of this package.
"""

from augmix.suite.config import GENERATE, RELEASED, EvalConfig
from augmix.suite.registry import REGISTRY
from augmix.suite.run import find_sets, run_evaluation, summary_line

__all__ = ["GENERATE", "REGISTRY", "RELEASED", "EvalConfig", "find_sets", "run_evaluation", "summary_line"]

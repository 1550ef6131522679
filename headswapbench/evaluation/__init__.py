"""The evaluation runner: score a head-swap method on a split under a protocol (see ``runner``).

    from headswapbench.evaluation import EvalConfig, evaluate
    run = evaluate(split, "runs/warp", "warp", EvalConfig(protocol="offline-v1"))

One job per module: ``config`` (the validated ``EvalConfig``), ``metric`` (the metric contract and registry),
``inputs`` (the split, watched for changes), ``rundir`` (run folder claim and log), ``stages`` (swap and score
stage functions), ``validate`` (output checks), ``aggregate`` + ``stats`` (numbers and intervals),
``runner`` (the stages in order), ``summary`` (the CLI table and closing line), ``report`` (the HTML page)."""

from typing import Any

from .config import EvalConfig, EvalPlan


def __getattr__(name: str) -> Any:  # the runner is imported on first use, so `--help` stays fast
    if name in ("evaluate", "EvaluationRun"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(name)


__all__ = ["EvalConfig", "EvalPlan", "EvaluationRun", "evaluate"]

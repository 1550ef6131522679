"""Metric definitions: per-clip (identity, keypoints, pose, expression, PSNR/SSIM/LPIPS, flicker) and set-level
(FID, FVD, identity retrieval), one module per family.

The contract they implement and the registry they arrive through are the core's
(``headswapbench.evaluation.metric``). The built-ins are declared as entry points of this distribution (group
``headswapbench.metrics`` in pyproject.toml), the same way a third-party package adds a metric, so neither the
runner nor this package's import costs a torch import until a metric is used."""

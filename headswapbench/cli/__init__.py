"""The `headswapbench` command line: one module per command (or command group), wired in `main.py`."""

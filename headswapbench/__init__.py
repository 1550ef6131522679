"""HeadSwapBench: a paired, full-reference benchmark for video head swapping."""

__version__ = "0.1.0"

"""Benchmarks: committed scripts anyone can run; each prints ratios against a baseline measured in the same run."""

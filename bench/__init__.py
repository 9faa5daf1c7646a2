"""Benchmarks of the Impact Engine: scripts that print tables and write ``bench/results/``."""

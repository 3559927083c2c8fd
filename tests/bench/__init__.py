"""Benchmarks of Madoguchi Desk (`./dev bench`); not collected by pytest, never asserted on."""

"""Performance benchmarks at provincial scale (issue 9): see docs/performance.md."""

"""Side-by-side benchmark of `commandcode/` against LiteLLM's `openai/` path: `scripts/bench`, see BENCHMARKS.md."""

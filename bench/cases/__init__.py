"""One module per op family; each defines cases() -> [(name, fn, cpu_inputs)]."""

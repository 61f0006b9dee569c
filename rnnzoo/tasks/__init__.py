"""rnnzoo tasks: one module per task, each trained through the one runner."""

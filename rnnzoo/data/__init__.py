"""rnnzoo data: dataset loaders, text vectorisation, batching."""

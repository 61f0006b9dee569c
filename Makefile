# rnnzoo: `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SHARED_DATA := $(abspath ../shared/data)
# Real datasets are read at run time from ../shared/data when it exists.
export RNNZOO_DATA_DIR ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA),)
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONUNBUFFERED := 1

.PHONY: demo test test-tf test-jax bench setup clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(PY) recipes/names.py --quick --output-dir runs/demo_names

# The whole suite on TensorFlow (with every module's `>>>` examples), then
# the backend matrix (tests marked `multi_backend`) again on JAX. Two pytest-xdist workers on two cores, each
# with ONE TensorFlow intra-op and inter-op thread: TensorFlow's default
# pools (a thread per core in each worker) oversubscribe the cores. Measured
# on 201 TensorFlow tests, quiet 2-core machine: 155-166 s with the default
# pools, 118 s with one thread, 152 s with three workers (docs/benchmarks.md).
# XLA's CPU thread flags made no difference on JAX (209 s against 205 s).
TEST_THREADS := TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1
# The tests compile hundreds of tiny XLA programs (every JAX step, weight
# initialisers, TensorFlow's compiled decoding loops) that run for
# microseconds: compile them without LLVM's expensive optimisations, and let
# the workers (and later runs) share JAX's compiled programs through a
# persistent cache. Measured on two JAX preset tests (under load): 48.7 s,
# 42.9 s with the flags, and 23.8 s from a warm cache (docs/benchmarks.md).
TEST_XLA := XLA_FLAGS="--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true" \
	JAX_COMPILATION_CACHE_DIR=$(CURDIR)/.pytest_cache/jax_compilation \
	JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=0
PYTEST := $(PY) -m pytest -q -n 2 --dist loadgroup

test: setup
	$(MAKE) test-tf
	$(MAKE) test-jax

test-tf:
	KERAS_BACKEND=tensorflow $(TEST_THREADS) $(TEST_XLA) $(PYTEST) --durations=15 --doctest-modules rnnzoo tests

test-jax:
	KERAS_BACKEND=jax $(TEST_THREADS) $(TEST_XLA) $(PYTEST) --durations=15 -m multi_backend rnnzoo tests

bench: setup
	$(PY) -m pip install -q torch==2.13.0
	KERAS_BACKEND=tensorflow $(PY) bench/train_throughput.py
	KERAS_BACKEND=jax $(PY) bench/train_throughput.py

clean:
	rm -rf $(VENV) runs .pytest_cache

# cnnbench: one command for the main job (make run), one for the tests (make test).
# Both create the virtual environment themselves. torch is installed first, pinned to the CPU
# build, so nothing ever resolves a CUDA wheel on a CPU machine.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0
# Set TORCH_INDEX=https://download.pytorch.org/whl/cpu on machines without a local CPU wheel.
TORCH_INDEX ?=
PIP := $(BIN)/python -m pip
PIP_FLAGS := --disable-pip-version-check -q
EXTRAS ?= dev,onnx,onnxruntime,openvino,loadgen,report,nvml,studies,fleet,predict
STAMP := $(VENV)/.installed

.PHONY: venv run test lint bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install $(PIP_FLAGS) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH_SPEC)"
	$(PIP) install $(PIP_FLAGS) -c constraints.txt -e ".[$(EXTRAS)]"
	$(BIN)/python -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('2.13') else 1)"
	touch $(STAMP)

# The main job: latency and throughput of a few zoo networks on every installed engine, then
# the quick design-patterns study (seed 003), all stored in ./cnnbench.db (or $$CNNBENCH_DB),
# ending in one self-contained HTML report (report.html). A study point that fails is recorded
# and the study exits 1; the report is written all the same (the leading '-').
run: venv
	$(BIN)/cnnbench info --peaks
	$(BIN)/cnnbench run resnet18 mobilenet_v2 resnet50 --engine all --mode latency --budget 3 --rounds 2
	$(BIN)/cnnbench run resnet18 --engine all --mode throughput --budget 1 --max-batch 16
	-$(BIN)/cnnbench study design-patterns --quick
	$(BIN)/cnnbench report --study design-patterns --html report.html

test: venv
	$(BIN)/python -m pytest -q tests

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: venv
	$(BIN)/python bench/overhead.py
	$(BIN)/python bench/repeatability.py
	$(BIN)/python bench/agreement.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

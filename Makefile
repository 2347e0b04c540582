# The two commands of the README:
#   make up     set up (virtualenv, tools, a cluster if none is reachable) and `pulumi up`
#   make test   install everything the tests need, then run every test tier
# Everything built or downloaded goes to .venv and $(CACHE) (never committed).

PYTHON ?= python3
VENV   := .venv
CACHE  ?= $(HOME)/.cache/mlplatform
STACK  ?= dev
WORKERS ?= 2
export MLPLATFORM_CACHE := $(CACHE)

.PHONY: up test unit cluster lint render bench bench-cluster footprint venv checkov cluster-tools clean

up: venv
	tools/up.sh $(STACK)

test: venv checkov cluster-tools lint
	$(VENV)/bin/python -m pytest -n $(WORKERS) --dist loadfile

unit: venv checkov
	$(VENV)/bin/python -m pytest -m "not cluster and not process"

cluster: venv cluster-tools
	$(VENV)/bin/python -m pytest -m cluster

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

render: venv
	$(VENV)/bin/python -m tools.render --stack $(if $(filter dev,$(STACK)),vanilla,$(STACK)) --out rendered

bench: venv
	$(VENV)/bin/python -m tools.bench_program

bench-cluster: venv cluster-tools
	$(VENV)/bin/python -m tools.bench_cluster

footprint: venv
	$(VENV)/bin/python -m tools.footprint

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

checkov: $(CACHE)/checkov-venv/.installed
$(CACHE)/checkov-venv/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CACHE)/checkov-venv
	$(CACHE)/checkov-venv/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

# Kubernetes control plane, etcd, kwok, the Pulumi CLI and providers, built from Go modules
# into $(CACHE) (tools/cluster/README.md). Exit 3 means the registries could not supply a
# tool: the cluster tests then skip, saying so; any other failure stops here.
cluster-tools:
	tools/cluster/build.sh || [ $$? -eq 3 ]

clean:
	rm -rf $(VENV) rendered .pytest_cache .ruff_cache

# byok.kms: `make demo` and `make test` work on a fresh clone; everything they need is set up here.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell tools/find-python)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# Collections layout for ansible-playbook and pytest: a symlink back to this tree, so edits are live.
COLLECTIONS := $(CURDIR)/.build/collections
# ansible-test needs a real (non-symlinked) checkout under ansible_collections/ and outside this git tree
# (inside it, ansible-test would ask git and find the copy ignored): a copy of the tracked files.
# One per checkout, so that two checkouts can run it at once.
SANITY_ROOT := $(or $(TMPDIR),/tmp)/byok-kms-sanity-$(shell printf %s '$(CURDIR)' | cksum | cut -d' ' -f1)
SANITY_COLL := $(SANITY_ROOT)/ansible_collections/byok/kms

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := true
export PATH := $(BIN):$(PATH)
# Never talk to real AWS: everything points at the local KMS server, with fake credentials.
export AWS_ACCESS_KEY_ID := testing
export AWS_SECRET_ACCESS_KEY := testing
export AWS_DEFAULT_REGION := us-east-1
export AWS_EC2_METADATA_DISABLED := true

.PHONY: help venv layout demo test unit sanity integration bench ee-context clean

help:
	@echo "make demo         set up, start the local KMS server and run the demo playbook"
	@echo "make test         set up and run every test suite (unit, sanity, integration)"
	@echo "make unit | sanity | integration | bench | ee-context"

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -n "$(PYTHON)" || { echo "No Python 3.12+ found"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

layout: venv
	@mkdir -p $(COLLECTIONS)/ansible_collections/byok
	@ln -sfn $(CURDIR) $(COLLECTIONS)/ansible_collections/byok/kms

unit: layout
	$(BIN)/python -m pytest tests/unit -q

sanity: layout
	@rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_COLL) $(SANITY_ROOT)/ansible_collections/amazon
	@git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C $(SANITY_COLL)
	@ln -sfn $$(ls -d $(VENV)/lib/python3*/site-packages/ansible_collections/amazon/aws | sed "s|^|$(CURDIR)/|") $(SANITY_ROOT)/ansible_collections/amazon/aws
	@v=$$(sed -n "s/.*pip='\([0-9.]*\)'.*/\1/p" $(VENV)/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -n1); \
	  f=$$HOME/.ansible/test/cache/get_pip_$${v//./_}.py; \
	  test -s $$f || install -D -m 0644 tools/ansible-test-get-pip.py $$f
	cd $(SANITY_COLL) && $(BIN)/ansible-test sanity --requirements --python $$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])') --color no

integration: layout
	$(BIN)/python -m pytest tests/integration -q

test: unit sanity integration

demo: layout
	ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0 $(BIN)/python tests/kms_server/with_server.py -- $(BIN)/ansible-playbook playbooks/demo.yml

bench: layout
	$(BIN)/python tests/bench/run.py

# The execution environment's build context (no container engine needed); `ansible-builder build` takes it from there.
ee-context: venv
	rm -rf .build/dist .build/ee-context && mkdir -p .build/dist
	$(BIN)/ansible-galaxy collection build --output-path .build/dist .
	mv .build/dist/byok-kms-*.tar.gz .build/dist/byok-kms.tar.gz
	$(BIN)/ansible-builder create -f meta/execution-environment.yml -c .build/ee-context

clean:
	rm -rf $(VENV) .build tests/output

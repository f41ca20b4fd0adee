# Thin wrapper for people who type make: every target runs `python3 tasks.py <target>`.
# Pass extra arguments with ARGS, e.g. `make pytest ARGS="-k chain packages/pyclaw-session"`.

PYTHON ?= python3
ARGS ?=
TASKS := test run lint fmt typecheck imports pytest isolation build bench sync bootstrap

.PHONY: help $(TASKS)

help:
	@$(PYTHON) tasks.py --help

$(TASKS):
	$(PYTHON) tasks.py $@ $(ARGS)

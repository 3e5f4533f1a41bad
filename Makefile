# nanomorph: the two commands a user needs are `make run` and `make test`.
# Both create .venv on first use. TORCH chooses the PyTorch build installed before the project:
#   make run                      CPU build (torch==2.13.0)
#   make run TORCH=torch          the newest build for your platform (CUDA on Linux)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
TORCH ?= torch==2.13.0
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
STAMP := $(VENV)/.nanomorph-deps

.PHONY: run test bench screenshot install dev system-deps clean

# Dependencies: torch first (so the project's torch>=2.4 keeps it), then the project with its
# test extras. Re-run when pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel
	$(PIP) install -q "$(TORCH)"
	$(PIP) install -q ".[test]"
	@touch $@

# The project itself, installed as a user would get it (a wheel, not an editable checkout), so
# every test also proves the install path: resources and the napari manifest come from site-packages.
install: $(STAMP)
	@$(PIP) uninstall -q -y napari-nanomorph >/dev/null 2>&1 || true
	@site=$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'); \
		rm -rf "$$site/nanomorph" "$$site/napari_nanomorph" "$$site/nanomorph_resources" build
	@$(PIP) install -q --no-deps --no-build-isolation . >/dev/null
	@rm -rf build

# Editable install for development (make test/run switch back to the wheel install).
dev: $(STAMP)
	@$(PIP) install -q --no-deps --no-build-isolation -e . >/dev/null

system-deps:
	@bash .ci/system-deps

run: install
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
		$(VENV)/bin/nanomorph gui --sample; \
	else \
		echo "no display: running the headless demo (nanomorph demo)"; \
		$(VENV)/bin/nanomorph demo; \
	fi

test: install system-deps
	$(VENV)/bin/lint-imports
	NANOMORPH_TEST_INSTALLED=1 $(VENV)/bin/pytest -p xvfb

bench: install system-deps
	$(VENV)/bin/pytest -p xvfb -m bench tests/benchmarks -s

# The gallery docs/gui/*.png: every workflow step, on a 1920x1080 and a 1280x800 screen.
screenshot: install system-deps
	for size in 1920x1080 1280x800; do \
		QT_API=pyside6 xvfb-run -a -s "-screen 0 $${size}x24" $(PY) docs/make_screenshot.py docs/gui || exit 1; \
	done

clean:
	rm -rf $(VENV) build .pytest_cache

# The README's two commands: `make demo` (the main job on the embedded default) and `make test`.
# Both build their own virtual environments from the package registries, on a machine that has
# only Python 3.11.

PYTHON ?= python3
VENV ?= .venv
PHOENIX_VENV ?= .venv-phoenix
# The openai versions the suite must pass on besides the newest release (installed in $(VENV)):
# the floor, the last 1.x, the last 2.x.
OPENAI_MATRIX ?= 1.63.2 1.109.1 2.54.0

.PHONY: demo demo-stop browser-deps test lint venv matrix-venvs phoenix-venv bench clean

# The demo leaves its trace viewer (Phoenix) running; demo-stop ends what it started, by pid.
demo: venv
	@CHATSPAN_PHOENIX_VENV=$(PHOENIX_VENV) scripts/demo.sh $(VENV)

demo-stop:
	@scripts/demo-stop.sh

# Debian's Chromium, for the browser test (tests/demo); Playwright drives it, never its own download.
browser-deps:
	@test -x /usr/bin/chromium || { apt-get update && apt-get install -y chromium; }

test: venv matrix-venvs phoenix-venv browser-deps
	@CHATSPAN_PHOENIX_VENV=$(abspath $(PHOENIX_VENV)) scripts/test.sh $(VENV) $(OPENAI_MATRIX)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	scripts/venv.sh $(VENV) newest
	@touch $@

matrix-venvs: $(foreach v,$(OPENAI_MATRIX),.venv-openai-$(v)/.installed)

.venv-openai-%/.installed: pyproject.toml
	scripts/venv.sh .venv-openai-$* $*
	@touch $@

phoenix-venv:
	scripts/phoenix-venv.sh $(PHOENIX_VENV)

bench:
	scripts/bench-venv.sh .venv-bench
	scripts/bench-v2-venv.sh .venv-bench-v2
	.venv-bench/bin/python bench/overhead.py
	.venv-bench/bin/python bench/instructions.py

clean:
	rm -rf $(VENV) .venv-openai-* .venv-bench $(PHOENIX_VENV) test-output .demo

# newsdesk developer commands. `make demo` and `make test` set everything up on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo serve test test-deps lint bench bench-serve clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python demo/run_demo.py

# `newsdesk serve` on the demo feeds with a demo user (its password and a token are printed);
# ARGS passes flags on, e.g. `make serve ARGS="--port 9000"`.
serve: $(STAMP)
	$(BIN)/python demo/serve_demo.py $(ARGS)

# pytest runs the test files on two processes (`--dist loadfile`: a file's module fixtures, such
# as a published site or a browser, are built once, in one process). Most tests wait on the
# processes they start (serve, workers, Chromium, Hexo), so one pytest process keeps the two
# cores about two-thirds busy; two bring the suite from about 11.5 to 8 minutes here.
test: $(STAMP) test-deps
	$(BIN)/ruff check src tests bench demo
	$(BIN)/mypy
	$(BIN)/pytest -q -n 2 --dist loadfile

# The browser tests drive Debian's Chromium (never a downloaded browser), with a CJK font so
# that their screenshots show Chinese rather than boxes; the Hexo test installs Hexo from npm
# itself (pinned by tests/hexo/package-lock.json).
test-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@dpkg-query -W -f='$${Status}' fonts-noto-cjk 2>/dev/null | grep -q 'ok installed' || { \
		echo "installing Debian's fonts-noto-cjk for the browser screenshots"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null; }
	@command -v npm >/dev/null 2>&1 || { echo "npm (Node.js 20) is needed for the Hexo test"; exit 1; }

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: $(STAMP) .venv-bench/.installed
	$(BIN)/python bench/run_all.py
	.venv-bench/bin/python bench/bench_clean.py

# The cleaners we compare with are not our dependencies: they live in their own venv.
.venv-bench/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet --upgrade pip
	.venv-bench/bin/pip install --quiet -e . trafilatura==2.3.1 readability-lxml==0.9 gne==0.4.3 \
		lxml_html_clean==0.4.6 pytest==9.2.0 hypothesis==6.170.17
	touch .venv-bench/.installed

# The service benchmark (issue 14): needs Debian's wrk (apt-get install -y wrk); ~15 minutes.
bench-serve: $(STAMP) .venv-reader/.installed
	$(BIN)/python bench/bench_serve.py

# lemon24/reader's web app is that benchmark's baseline, in its own venv (not our dependency):
# reader 3.26 is the last release for Python 3.11; its vendored feedparser imports sgmllib.
.venv-reader/.installed:
	$(PYTHON) -m venv .venv-reader
	.venv-reader/bin/pip install --quiet --upgrade pip
	.venv-reader/bin/pip install --quiet 'reader[app]==3.26' gunicorn==27.0.1 sgmllib3k==1.0.0
	touch .venv-reader/.installed

clean:
	rm -rf $(VENV) demo/out test-output .pytest_cache .mypy_cache .ruff_cache

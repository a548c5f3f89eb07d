# Seller back-office: `make run` for a demo server, `make test` for everything CI checks.
# Only Python 3.11+ is needed up front: the first target that needs tools creates .venv.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
RUFF   := $(VENV)/bin/ruff
# Reinstall only when the dependencies change (the stamp lives in .venv, so it goes with it).
STAMP  := $(VENV)/.installed-from-pyproject
# Two workers: one per core. The PostgreSQL run also takes the tests marked `postgres`.
PYTEST := $(PY) -m pytest -n 2 -ra

# With DEBUG off, settings.py refuses to start without DJANGO_SECRET_KEY. The checks, the schema
# export and the benchmarks are no server: they get a key used nowhere else (one already in the
# environment wins). pytest gets its own from backoffice/settings_test.py.
test schema bench messages catalogue: export DJANGO_SECRET_KEY ?= make-checks-only-insecure-key-not-for-any-server-0123456789

.DEFAULT_GOAL := help
.PHONY: help venv fonts run worker stack test test-sqlite test-postgres e2e chromium lint fmt schema bench clean \
	messages catalogue gettext

help:
	@echo "make run            demo server on http://127.0.0.1:8000 (admin/admin), GraphiQL at /graphql/"
	@echo "make worker         the job worker: runs the periodic deadline jobs (optional with SQLite)"
	@echo "make stack          production-like stack without Docker (deploy/run-local-stack)"
	@echo "make test           lint, migrations and schema checks, tests on SQLite then PostgreSQL"
	@echo "make test-sqlite    tests on SQLite only (skips nothing: postgres-marked tests are not selected)"
	@echo "make test-postgres  all tests on a throwaway PostgreSQL cluster (.ci/with-postgres)"
	@echo "make e2e            the browser tests alone (Playwright + Debian's chromium; in test-sqlite too)"
	@echo "make lint | fmt     ruff check and format check | apply fixes and formatting"
	@echo "make schema         write schema.graphql (export_schema)"
	@echo "make messages       update locale/zh_Hans/LC_MESSAGES/django.po from the code, compile it"
	@echo "make catalogue      compile the catalogues (.po to .mo; pure Python)"
	@echo "make bench          benchmarks/run.py: one table (BENCH_ARGS=--quick: a few minutes)"
	@echo "make venv | clean   create .venv | remove .venv and caches"
	@echo "make fonts          the statement PDF's Chinese font (apt-get, as root)"

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

run: export DJANGO_DEBUG = 1
run: venv catalogue
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver 127.0.0.1:8000

# On SQLite the queue is in memory: this worker runs the periodic deadline jobs in its own
# process (make run needs no worker). With DATABASE_URL on PostgreSQL it is the real worker.
worker: export DJANGO_DEBUG = 1
worker: venv catalogue
	$(PY) manage.py procrastinate worker

# PostgreSQL, migrate, collectstatic, gunicorn and the worker, as `docker compose up` starts them.
stack: venv catalogue
	deploy/run-local-stack

test: venv gettext catalogue
	$(RUFF) check .
	env -u DATABASE_URL $(PY) manage.py makemigrations --check --dry-run
	env -u DATABASE_URL $(PY) manage.py export_schema --check
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

# pytest exits 5 when it collected no tests: that fails the target like any other failure.
NO_TESTS = || { rc=$$?; [ $$rc -ne 5 ] || echo "pytest collected no tests (exit 5): failing"; exit $$rc; }

# The statement PDF's Chinese font (payouts/statements.py looks for it): Debian's
# fonts-wqy-microhei, installed with apt-get as root when missing, as .ci/with-postgres
# installs PostgreSQL. Without it (not root, no apt-get) the PDF test fails and says why.
CJK_FONT = /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
fonts:
	@if [ ! -f $(CJK_FONT) ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "fonts: installing fonts-wqy-microhei for the statement PDF" >&2; \
	  apt-get update -qq >&2; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >&2; \
	fi

# The browser tests (tests/e2e, marked e2e) run in the SQLite pass, with Debian's chromium driven
# by Playwright (no browser download): installed with apt-get when missing, as PostgreSQL is.
CHROMIUM ?= /usr/bin/chromium

chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "chromium not found, installing it with apt-get" >&2; \
	    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2; \
	  else \
	    echo "$(CHROMIUM) not found: install Debian's chromium (apt-get install chromium)" >&2; exit 1; \
	  fi; \
	fi

e2e: venv catalogue chromium
	@echo "== browser tests (Playwright, chromium) =="
	env -u DATABASE_URL E2E_CHROMIUM=$(CHROMIUM) $(PY) -m pytest -n 2 -ra -m e2e tests/e2e $(NO_TESTS)

test-sqlite: venv catalogue fonts chromium
	@echo "== pytest on SQLite =="
	env -u DATABASE_URL $(PYTEST) -m "not postgres" $(NO_TESTS)

test-postgres: venv catalogue fonts
	@echo "== pytest on PostgreSQL =="
	bash .ci/with-postgres $(PYTEST) $(NO_TESTS)

lint: venv
	$(RUFF) check .
	$(RUFF) format --check .

fmt: venv
	$(RUFF) check --fix .
	$(RUFF) format .

schema: venv
	$(PY) manage.py export_schema

# Translations (README "Translations", docs/glossary.md). `makemessages` needs GNU gettext's
# xgettext: as root, Debian's `gettext` package is installed when missing (like PostgreSQL in
# .ci/with-postgres). The catalogue check in the tests (tests/test_catalogue.py) runs the same
# makemessages into a copy, so it needs it too. Compiling is pure Python (polib).
MAKEMESSAGES = $(PY) manage.py makemessages -l zh_Hans --no-obsolete --add-location file \
	-i .venv -i tests -i benchmarks -i staticfiles -i media -i build -i '*.egg-info'

gettext:
	@command -v xgettext >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's gettext (xgettext, for makemessages)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext; \
	  else echo "GNU gettext (xgettext) is needed: install the gettext package"; exit 1; fi; }

messages: venv gettext
	$(MAKEMESSAGES)
	$(PY) manage.py compile_catalogue
	@$(PY) manage.py compile_catalogue --check || \
	  echo "translate the entries above in locale/zh_Hans/LC_MESSAGES/django.po (docs/glossary.md)"

catalogue: venv
	$(PY) manage.py compile_catalogue

bench: venv
	@if [ -f benchmarks/run.py ]; then $(PY) benchmarks/run.py $(BENCH_ARGS); else echo "no benchmarks/run.py"; fi

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .hypothesis staticfiles
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

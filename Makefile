# Elenchus — build, run, test, bench.
#
#   make run     install what is missing, build, start PostgreSQL, migrate,
#                serve Kore on 127.0.0.1:$HTTP_PORT behind nginx on $TLS_PORT
#   make test    the same set-up, then every unit and end-to-end suite
#                (SAN=1: the module under ASan+UBSan; TEST_WHAT=unit|fuzz|e2e
#                and TEST_FILTER="suite names" pick a subset)
#   make fuzz    every libFuzzer target for FUZZ_SECONDS (default 60)
#   make faults  the fault suite: kills and outages on instances of its own
#   make bench   load figures against the raw PostgreSQL limit
#
# Build output goes to build/, the local cluster and run state to .run/.

CC		?= cc
BUILD		:= build
# What installed packages provide (Kore's feature flags, pkg-config) is read
# only when a recipe runs: `make run` and `make test` install the packages
# first and build in a second make, and even one make expands these late.
# Never read an installed file with a parse-time `:=`: on a fresh machine
# it is empty (scripts/check_make.sh, run by `make test`, fails on it).
KORE_FEATURES	= $(shell cat /usr/share/kore/features)
EXTRACT_PKGS	:= poppler-glib libzip libxml-2.0
EXTRACT_CFLAGS	= $(shell pkg-config --cflags $(EXTRACT_PKGS) | sed 's/-I/-isystem /g')
EXTRACT_LIBS	= $(shell pkg-config --libs $(EXTRACT_PKGS))
WARN		:= -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wcast-qual \
		   -Wstrict-prototypes -Wmissing-prototypes
# The newest migration's number: /ready answers 200 once the database has it.
SCHEMA_VERSION	:= $(shell ls sql/*.sql | sort | tail -n 1 | xargs basename | cut -d_ -f1)
# The flags make and kodev share (conf/build.conf is written from these).
CFLAGS_BASE	:= -std=gnu11 $(WARN) -Isrc -Isrc/lib
LIBS		:= -lcrypto -lssl -ljansson -lcurl -lcrypt -lpq -lm -lpthread
DEBUG_CFLAGS	:= -g
RELEASE_CFLAGS	:= -O2 -D_FORTIFY_SOURCE=2
CFLAGS_COMMON	:= $(CFLAGS_BASE) $(DEBUG_CFLAGS) -DSCHEMA_VERSION='"$(SCHEMA_VERSION)"'
MOD_CFLAGS	= $(CFLAGS_COMMON) $(RELEASE_CFLAGS) -fPIC $(KORE_FEATURES)
SANFLAGS	:= -fsanitize=address,undefined -fno-omit-frame-pointer
TEST_CFLAGS	:= $(CFLAGS_COMMON) -O1 $(SANFLAGS) -I/usr/include/postgresql
# SAN=1: the Kore module also built with ASan and UBSan, as
# build/san/elenchus.so beside the normal one; `make test SAN=1` serves it
# with the ASan runtime preloaded and fails on any sanitizer report.
SAN		?= 0
SAN_CFLAGS	= $(CFLAGS_COMMON) -O1 -fPIC $(KORE_FEATURES) $(SANFLAGS) \
		   -DELENCHUS_SAN

LIB_SRC		:= $(sort $(wildcard src/lib/*.c))
MOD_SRC		:= $(sort $(wildcard src/*.c))
LIB_OBJ		:= $(LIB_SRC:src/lib/%.c=$(BUILD)/obj/lib/%.o)
MOD_OBJ		:= $(MOD_SRC:src/%.c=$(BUILD)/obj/mod/%.o)
TLIB_OBJ	:= $(LIB_SRC:src/lib/%.c=$(BUILD)/obj/tlib/%.o)
SAN_OBJ		:= $(MOD_SRC:src/%.c=$(BUILD)/san/obj/mod/%.o) \
		   $(LIB_SRC:src/lib/%.c=$(BUILD)/san/obj/lib/%.o)
UNIT_SRC	:= $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN	:= $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
E2E_SRC		:= $(sort $(wildcard tests/e2e/test_*.c))
E2E_BIN		:= $(E2E_SRC:tests/e2e/%.c=$(BUILD)/tests/e2e/%)
E2E_LIB		:= $(filter-out $(E2E_SRC),$(sort $(wildcard tests/e2e/*.c)))
E2E_OBJ		:= $(E2E_LIB:tests/e2e/%.c=$(BUILD)/obj/e2e/%.o)
EXTRACT_SRC	:= $(wildcard cmd/extract/*.c)
JOBS_SRC	:= $(sort $(wildcard cmd/jobs/*.c))
SWAGGER_VER	:= 5.17.14
PARSER_VER	:= 10.1.1

.PHONY: all deps build run test unit e2e bench lint sizes clean distclean kodev-conf \
	fuzz fuzz-build faults
# Keep the objects of the test build between runs.
.SECONDARY:

all: build

deps:
	@scripts/deps.sh

build: $(BUILD)/elenchus.so $(BUILD)/swagger-ui/.done $(BUILD)/openapi.json \
	conf/build.conf \
	$(if $(EXTRACT_SRC),$(BUILD)/elenchus-extract) \
	$(if $(JOBS_SRC),$(BUILD)/elenchus-jobs) \
	$(if $(filter 1,$(SAN)),$(BUILD)/san/elenchus.so)

$(BUILD)/obj/lib/%.o: src/lib/%.c $(wildcard src/lib/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(MOD_CFLAGS) -I/usr/include/postgresql $(EXTRACT_CFLAGS) -c $< -o $@

$(BUILD)/obj/mod/%.o: src/%.c $(wildcard src/*.h src/lib/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(MOD_CFLAGS) -c $< -o $@

$(BUILD)/elenchus.so: $(MOD_OBJ) $(LIB_OBJ)
	@echo "  LD      $@"
	@$(CC) -shared -o $@ $(MOD_OBJ) $(LIB_OBJ) $(LIBS)

$(BUILD)/san/obj/lib/%.o: src/lib/%.c $(wildcard src/lib/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $< (san)"
	@$(CC) $(SAN_CFLAGS) -I/usr/include/postgresql $(EXTRACT_CFLAGS) -c $< -o $@

$(BUILD)/san/obj/mod/%.o: src/%.c $(wildcard src/*.h src/lib/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $< (san)"
	@$(CC) $(SAN_CFLAGS) -c $< -o $@

$(BUILD)/san/elenchus.so: $(SAN_OBJ)
	@echo "  LD      $@"
	@$(CC) -shared $(SANFLAGS) -o $@ $(SAN_OBJ) $(LIBS)

# The background job runner: a plain process (no Kore), blocking libpq and
# libcurl in its own threads, claiming jobs with FOR UPDATE SKIP LOCKED.
$(BUILD)/elenchus-jobs: $(JOBS_SRC) $(LIB_OBJ) $(wildcard cmd/jobs/*.h src/lib/*.h)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS_COMMON) -O2 -I/usr/include/postgresql $(JOBS_SRC) \
		$(LIB_OBJ) -o $@ $(LIBS)

$(BUILD)/elenchus-extract: $(EXTRACT_SRC) $(LIB_SRC) $(wildcard src/lib/*.h)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS_COMMON) -O2 $(EXTRACT_CFLAGS) \
		$(EXTRACT_SRC) $(LIB_SRC) -o $@ \
		$(EXTRACT_LIBS) $(LIBS)

# The OpenAPI document is assembled from one fragment per API area.
$(BUILD)/openapi.json: $(sort $(wildcard assets/openapi/*.json))
	@mkdir -p $(BUILD)
	@jq -s 'reduce .[] as $$x ({}; . * $$x)' $^ > $@.tmp && mv $@.tmp $@

$(BUILD)/swagger-ui/.done:
	@mkdir -p $(BUILD)/npm $(BUILD)/swagger-ui
	cd $(BUILD)/npm && npm install --no-audit --no-fund --loglevel=error \
		swagger-ui-dist@$(SWAGGER_VER) @apidevtools/swagger-parser@$(PARSER_VER) >/dev/null
	cp $(BUILD)/npm/node_modules/swagger-ui-dist/swagger-ui.css \
	   $(BUILD)/npm/node_modules/swagger-ui-dist/swagger-ui-bundle.js \
	   $(BUILD)/npm/node_modules/swagger-ui-dist/favicon-32x32.png $(BUILD)/swagger-ui/
	@touch $@

# Tests: the pure code again, with sanitizers, linked into each suite.
$(BUILD)/obj/tlib/%.o: src/lib/%.c $(wildcard src/lib/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $< (tests)"
	@$(CC) $(TEST_CFLAGS) $(EXTRACT_CFLAGS) -c $< -o $@

$(BUILD)/tests/unit/%: tests/unit/%.c $(TLIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(TEST_CFLAGS) $< $(TLIB_OBJ) -o $@ -lcriterion \
		$(EXTRACT_LIBS) $(LIBS)

# The e2e harness and fixture: compiled once, linked into every suite.
$(BUILD)/obj/e2e/%.o: tests/e2e/%.c $(wildcard tests/e2e/*.h src/lib/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $< (tests)"
	@$(CC) $(TEST_CFLAGS) -Itests/e2e -c $< -o $@

$(BUILD)/tests/e2e/%: tests/e2e/%.c $(E2E_OBJ) $(wildcard tests/e2e/*.h) $(TLIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(TEST_CFLAGS) -Itests/e2e $< $(E2E_OBJ) $(TLIB_OBJ) -o $@ -lcriterion \
		$(EXTRACT_LIBS) $(LIBS)

# The extractor's test build: the probe of its sandbox (-P, -U) added.
$(BUILD)/tests/elenchus-extract-probe: $(EXTRACT_SRC) tests/unit/extract_probe.c \
		$(TLIB_OBJ) $(wildcard cmd/extract/*.h src/lib/*.h)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(TEST_CFLAGS) -DXT_PROBE -Icmd/extract $(EXTRACT_CFLAGS) \
		$(EXTRACT_SRC) tests/unit/extract_probe.c $(TLIB_OBJ) -o $@ \
		$(EXTRACT_LIBS) $(LIBS)

tests-build: $(UNIT_BIN) $(E2E_BIN) $(BUILD)/tests/elenchus-extract-probe \
	fuzz-build

# libFuzzer targets (tests/fuzz): every parser of untrusted bytes, under
# ASan and UBSan.  `make fuzz` runs each for FUZZ_SECONDS; `make test`
# runs a short smoke of each (FUZZ_SMOKE_SECONDS).
FUZZ_CC		?= clang-14
FUZZ_SECONDS	?= 60
FUZZ_SAN	:= -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		   -fno-omit-frame-pointer
FUZZ_CFLAGS	= $(CFLAGS_COMMON) -O1 -Icmd/extract -I/usr/include/postgresql \
		   $(EXTRACT_CFLAGS)
FUZZ_SRC	:= $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN	:= $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_OBJ	:= $(LIB_SRC:src/lib/%.c=$(BUILD)/obj/fuzz/%.o) \
		   $(BUILD)/obj/fuzz/xt_docx.o

$(BUILD)/obj/fuzz/%.o: src/lib/%.c $(wildcard src/lib/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $< (fuzz)"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/obj/fuzz/xt_docx.o: cmd/extract/docx.c $(wildcard cmd/extract/*.h src/lib/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $< (fuzz)"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/libfuzzlib.a: $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/fuzz/%: tests/fuzz/%.c $(wildcard tests/fuzz/*.h) $(BUILD)/fuzz/libfuzzlib.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -Itests/fuzz $< \
		$(BUILD)/fuzz/libfuzzlib.a -o $@ $(EXTRACT_LIBS) $(LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

# run, test and bench install what is missing, then build in a second make,
# which reads the installed files afresh.
run: deps
	@$(MAKE) --no-print-directory build
	@scripts/run.sh

test: deps
	@$(MAKE) --no-print-directory build tests-build
	@ELENCHUS_SAN=$(SAN) scripts/test.sh $(or $(TEST_WHAT),all) "$(TEST_FILTER)"

# The fault suite, on instances and clusters of its own: worker kill under
# write load, Kore down behind nginx, PostgreSQL restarted under load and
# down for a while, the job runner killed or stopped mid-job, provider
# failures (rate limits, 5xx, quota, malformed and cut answers, timeouts).
FAULT_SUITES	:= test_faults test_outage test_jobs test_chat

faults: deps
	@$(MAKE) --no-print-directory build tests-build
	@ELENCHUS_SAN=$(SAN) scripts/test.sh e2e "$(FAULT_SUITES)"

unit: build
	@$(MAKE) --no-print-directory $(UNIT_BIN)
	@scripts/test.sh unit

bench: deps
	@$(MAKE) --no-print-directory build
	@scripts/bench.sh

lint:
	scripts/check_deps.sh
	python3 scripts/fnsize.py --strict
	cppcheck --quiet -D__CPPCHECK__ --enable=warning,performance,portability \
		--inline-suppr --error-exitcode=1 -Isrc -Isrc/lib src
	clang-tidy --quiet $(MOD_SRC) $(LIB_SRC) -- $(CFLAGS_COMMON) \
		$(KORE_FEATURES) -I/usr/include/postgresql \
		$(EXTRACT_CFLAGS)

# Functions over 60 lines and src files over 800 (docs/DEVELOPING.md): the
# report; `make lint` fails on it (every area is under since issue 11).
sizes:
	@python3 scripts/fnsize.py $(if $(SIZES_STRICT),--strict)

# kodev's build options, from the flags and schema version above (kodev adds
# Kore's feature flags itself).  Git ignores it; `make build` keeps it current.
conf/build.conf: Makefile $(wildcard sql/*.sql)
	@{ echo "# Written by make from the Makefile's flags: edit those, not this."; \
	  echo "single_binary=no"; \
	  echo 'cflags=$(CFLAGS_BASE) -DSCHEMA_VERSION="$(SCHEMA_VERSION)"'; \
	  echo 'ldflags=$(LIBS)'; \
	  printf 'dev {\n\tcflags=$(DEBUG_CFLAGS)\n}\n\nprod {\n\tcflags=$(RELEASE_CFLAGS)\n}\n'; \
	} > $@

# `kodev run` looks for conf/<directory name>.conf and builds <name>.so.
kodev-conf: conf/build.conf
	@scripts/kore_conf.sh kore.conf conf/$(notdir $(CURDIR)).conf \
		load=./$(notdir $(CURDIR)).so
	@echo "conf/$(notdir $(CURDIR)).conf written; now: DATABASE_URL=... kodev run"

# Every build product: all of build/ (objects, the module, the executables,
# the test and fuzz binaries, the OpenAPI document, swagger-ui and the npm
# packages it is copied from) and the files make and kodev write in the
# tree.  .run/ is state, not build output (the local cluster's databases,
# the TLS key, the run logs): only distclean removes it.
KODEV_OUT	:= $(filter-out conf/nginx-site.conf,conf/$(notdir $(CURDIR)).conf) \
		   .objs .flavor $(notdir $(CURDIR)).so

clean:
	rm -rf $(BUILD) conf/build.conf $(KODEV_OUT)

distclean: clean
	rm -rf .run

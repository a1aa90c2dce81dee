# Everyday commands. The real build is CMake; this file only wraps it.
#   make            build only (installs nothing; run `make deps` first on a fresh machine)
#   make deps       install the Debian packages building, testing and the demo need
#   make demo       run the agent for one virtual hour on the bundled demo network
#   make test       build and run the whole test suite (plain, then ASan+UBSan)
#   make check      the plain suite only;  make check-asan  the sanitizer suite only
#                   (without the tests labelled plain_only: tests/CMakeLists.txt)
#   make install    install into $(DESTDIR)$(PREFIX)
#   make deb        the Debian package, built from a clean copy (docs/PACKAGING.md)
#   make bench      benchmarks (see docs/BENCHMARKS.md)

BUILD      ?= build
ASAN_BUILD ?= build-asan
BENCH_BUILD ?= build-bench
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
# Most tests wait on the virtual clock rather than compute (the plain suite
# keeps 2 cores about 40% busy), so ctest runs more of them than there are
# cores: twice as many plain, one more under the sanitizers (heavier).
TEST_JOBS  ?= $(shell echo $$(( $(JOBS) * 2 )))
ASAN_TEST_JOBS ?= $(shell echo $$(( $(JOBS) + 1 )))
CTEST_ARGS ?=

.PHONY: all deps build build-asan test check check-asan demo install bench clean

all: build

deps:
	@scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DANT_SANITIZE=ON

build-asan: $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)

check: deps
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j $(TEST_JOBS) $(CTEST_ARGS)

check-asan: deps
	$(MAKE) build-asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(ASAN_TEST_JOBS) -LE plain_only $(CTEST_ARGS)

test: check check-asan

demo: deps
	$(MAKE) build
	@scripts/demo.sh $(BUILD)

# `sudo make install`: the build step runs as the owner of the build tree
# (of the source tree when there is none yet), and what the install step
# writes into the tree (install_manifest.txt, the configured unit) is given
# back to that owner, so no root-owned file is left in it.
TREE_OWNER = $(shell stat -c %u:%g $(BUILD) 2>/dev/null || stat -c %u:%g .)
AS_TREE_OWNER = $(if $(filter 0:%,$(TREE_OWNER)),,setpriv --reuid=$(firstword $(subst :, ,$(TREE_OWNER))) \
  --regid=$(lastword $(subst :, ,$(TREE_OWNER))) --clear-groups)
install:
	@if [ "$$(id -u)" -eq 0 ]; then $(AS_TREE_OWNER) $(MAKE) build; else $(MAKE) build; fi
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)
	@if [ "$$(id -u)" -eq 0 ] && [ -n "$(AS_TREE_OWNER)" ]; then \
	  find $(BUILD) -xdev -uid 0 -exec chown -h $(TREE_OWNER) {} +; fi

# Benchmarks build in their own Release directory, never in $(BUILD).
bench:
	@scripts/deps.sh --with-bench
	@bench/run.sh $(BENCH_BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

# ---- Reliability (docs/RELIABILITY.md) ----
#   make fuzz       build the libFuzzer targets (clang) and run each for FUZZ_SECONDS
#   make valgrind   the unit tests under valgrind: no invalid access, no leak
FUZZ_SECONDS ?= 60
FUZZ_BUILD   ?= build-fuzz
VALGRIND_BUILD ?= build-valgrind

.PHONY: fuzz valgrind check-valgrind

fuzz:
	@scripts/deps.sh --with-fuzz
	FUZZ_BUILD=$(abspath $(FUZZ_BUILD)) fuzz/run.sh $(FUZZ_SECONDS)

$(VALGRIND_BUILD)/CMakeCache.txt:
	cmake -S . -B $(VALGRIND_BUILD) -DCMAKE_BUILD_TYPE=Debug

valgrind check-valgrind: deps $(VALGRIND_BUILD)/CMakeCache.txt
	@scripts/deps.sh --with-valgrind
	cmake --build $(VALGRIND_BUILD) -j $(JOBS)
	@cd $(VALGRIND_BUILD)/tests && failed=""; \
	for t in test_* replay_*; do \
	  [ -f "$$t" ] && [ -x "$$t" ] || continue; \
	  args=""; case $$t in replay_*) args="$(CURDIR)/fuzz/corpus/$${t#replay_}";; esac; \
	  if valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible \
	       --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
	       ./$$t $$args > $$t.valgrind.log 2>&1; then echo "valgrind: $$t clean"; \
	  else echo "valgrind: $$t FAILED (see $(VALGRIND_BUILD)/tests/$$t.valgrind.log)"; failed="$$failed $$t"; fi; \
	done; [ -z "$$failed" ] || { echo "valgrind failures:$$failed"; exit 1; }

# ---- Debian package (docs/PACKAGING.md) ----
#   make deb        build the .deb from a clean copy of the tree into DEB_OUT
#                   and check it with lintian; the work tree stays clean
DEB_OUT ?= build-deb

.PHONY: deb

deb:
	@scripts/deps.sh
	JOBS=$(JOBS) scripts/build-deb.sh $(abspath $(DEB_OUT))

# A thin front door: the real build is CMake (see CMakePresets.json).
PRESET ?= dev
BUILD_DIR := build/$(PRESET)

.PHONY: all deps configure build run test test-asan fuzz crash-test bench docs package format check-format clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake --preset $(PRESET) >/dev/null

build: configure
	@cmake --build --preset $(PRESET)

# Starts pbd in the foreground on 127.0.0.1:8700 with the embedded SQLite default.
run: build
	$(BUILD_DIR)/bin/pbd

test: build
	@ctest --preset $(PRESET)

# The whole suite with AddressSanitizer and UndefinedBehaviorSanitizer (build/asan).
test-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan
	@ctest --preset asan

# Each libFuzzer target of fuzz/ for FUZZ_SECONDS on its corpus (build/fuzz, clang).
# FUZZ_TARGETS limits the run to some targets, e.g. FUZZ_TARGETS="jwt cidr".
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz:
	@scripts/install-deps.sh --fuzz
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz
	@fuzz/run.sh build/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# pbd killed by SIGKILL at random moments under four writers, PB_CRASH_ROUNDS (20)
# times on SQLite and on PostgreSQL: no acknowledged write may be lost
# (tests/daemon/crash_consistency_test.cpp; PB_CRASH_SEED=N repeats a run's kills).
crash-test: build
	@PB_CRASH_ROUNDS=$${PB_CRASH_ROUNDS:-20} ctest --preset $(PRESET) -R 'DaemonCrash' \
		--timeout 1800 --verbose

bench: build
	@scripts/install-deps.sh --bench
	@tests/bench/run.sh $(BUILD_DIR)

# Regenerates completions/ and man/ from the built programs (commit the result).
docs: build
	@scripts/gen-docs.sh $(BUILD_DIR)/bin

# The Debian package, by CPack: build/$(PRESET)/pb_<version>_amd64.deb.
package: build
	@cd $(BUILD_DIR) && cpack -B .

format: configure
	@cmake --build --preset $(PRESET) --target format

check-format: configure
	@cmake --build --preset $(PRESET) --target check-format

clean:
	rm -rf build

# Top-level entry points. Each target does all set-up on a fresh Debian 12 clone.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
# ccache: hash paths relative to the checkout (so clones share the cache), and accept the PCH.
export CCACHE_BASEDIR = $(CURDIR)
export CCACHE_SLOPPINESS = pch_defines,time_macros,include_file_mtime,include_file_ctime
export CCACHE_MAXSIZE ?= 5G

.PHONY: deps configure build test demo bench docs clean format sanitize fuzz fuzz-build fuzz-zip

deps:
	@bash scripts/install-deps

$(BUILD_DIR)/build.ninja:
	@$(MAKE) --no-print-directory deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: $(BUILD_DIR)/build.ninja

build: deps configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600

demo: build
	$(BUILD_DIR)/cimkit run configs/quickstart.yaml --overwrite

bench: build
	$(BUILD_DIR)/bench/cimkit_bench --benchmark_counters_tabular=true
	$(BUILD_DIR)/bench/cimkit_bench_train --benchmark_counters_tabular=true
	$(BUILD_DIR)/bench/cimkit_bench_cost --benchmark_counters_tabular=true
	$(BUILD_DIR)/bench/cimkit_bench_thermal --benchmark_counters_tabular=true

# libFuzzer on the YAML config loader (docs/testing.md): clang, ASan + UBSan, own build folder.
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 600
fuzz-build:
	@command -v clang++ >/dev/null && echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' | \
	  clang++ -x c++ -fsanitize=fuzzer - -o /dev/null 2>/dev/null || \
	  { echo "make fuzz needs clang with libFuzzer: apt-get install clang libclang-rt-14-dev"; exit 1; }
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DCIMKIT_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(FUZZ_DIR) -j $(JOBS)
	mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/corpus_zip $(FUZZ_DIR)/artifacts

fuzz: fuzz-build
	$(FUZZ_DIR)/tests/fuzz/fuzz_config $(FUZZ_DIR)/corpus tests/fuzz/corpus -dict=tests/fuzz/yaml.dict \
	  -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -rss_limit_mb=2048 -timeout=10 \
	  -artifact_prefix=$(FUZZ_DIR)/artifacts/ -print_final_stats=1

# The zip-archive check of .pt files, seeded with the .pt fixtures of tests/data.
fuzz-zip: fuzz-build
	$(FUZZ_DIR)/tests/fuzz/fuzz_zip $(FUZZ_DIR)/corpus_zip tests/data \
	  -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -rss_limit_mb=2048 -timeout=10 \
	  -artifact_prefix=$(FUZZ_DIR)/artifacts/zip- -print_final_stats=1

docs: build
	$(BUILD_DIR)/cimkit docs config > docs/config.md

# Address + UndefinedBehavior sanitizers: a separate build dir, then the whole test suite (the
# tests that spawn the cimkit binary run it instrumented too). Suppressions: cmake/sanitize/.
# The build step gets the same options: gtest_discover_tests runs each test program once.
SANITIZE_DIR ?= build-sanitize
SANITIZE_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer
SANITIZE_ENV = ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:check_initialization_order=1:strict_init_order=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/cmake/sanitize/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=suppressions=$(CURDIR)/cmake/sanitize/ubsan.supp:halt_on_error=1:print_stacktrace=1

sanitize: deps
	cmake -S . -B $(SANITIZE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_FLAGS="$(SANITIZE_FLAGS)" \
	  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DCIMKIT_BUILD_BENCH=OFF
	$(SANITIZE_ENV) cmake --build $(SANITIZE_DIR) -j $(JOBS)
	cd $(SANITIZE_DIR) && $(SANITIZE_ENV) ctest --output-on-failure -j $(JOBS) --timeout 1800

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD_DIR)

# faultline: one entry point.
#   make              build/faultline and build/libfaultline.so
#   make test         install missing Debian packages, build, run every test
#   make demo         same set-up, then faults on real programs and three chaos scenarios
#   make bench        overhead benchmarks (ratios against runs without the shim)
#   make install PREFIX=/usr/local DESTDIR=
# Knobs: debug=1 (-O0), sanitize=address|undefined|thread (unit tests and
# controller only: the shim is preloaded plain, docs/pitfalls.md item 16), V=1 (verbose).

PREFIX ?= /usr/local
DESTDIR ?=
CXX ?= g++
CC ?= gcc

BUILD := build
variant := $(if $(filter 1,$(debug)),debug,release)$(if $(sanitize),-$(sanitize))
OBJ := $(BUILD)/obj/$(variant)

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Sanitizer builds compile for speed of building: their unit tests run in
# seconds at any level, while UBSan at -O2 costs a minute for some files.
# TSan keeps -O1 (closer to the release build's interleavings); -g1 keeps
# the line numbers their reports need.
OPT := $(if $(filter 1,$(debug)),-O0,$(if $(filter thread,$(sanitize)),-O1,$(if $(sanitize),-O0,-O2))) \
       $(if $(sanitize),-g1,-g)
SAN := $(if $(sanitize),-fsanitize=$(sanitize) -fno-omit-frame-pointer)
WARN := -Wall -Wextra -Wshadow -Wno-missing-field-initializers
CXXFLAGS_BASE := -std=c++20 $(OPT) $(WARN) -I. -MD -MP
# The shim lives in other people's processes: no exceptions, no RTTI, no
# libstdc++ at run time, nothing exported but the hooks.
SHIM_FLAGS := -fPIC -fno-exceptions -fno-rtti -fvisibility=hidden -fno-threadsafe-statics \
              -ftls-model=initial-exec -fno-stack-protector
CTL_FLAGS := $(SAN)
CTL_LIBS := -lsqlite3
# The version lives in VERSION alone; only version.o is built with it (and
# rebuilt when it changes).
VERSION := $(strip $(file <VERSION))
$(if $(VERSION),,$(error the VERSION file is missing or empty))

COMMON_SRC := $(wildcard common/*.cpp)
SHIM_SRC := $(wildcard shim/*/*.cpp)
CTL_SRC := $(wildcard controller/*/*.cpp)
UNIT_SRC := $(wildcard tests/unit/*.cpp)
TARGET_SRC := $(wildcard tests/targets/*.cpp)
BENCH_SRC := $(wildcard bench/*.cpp)

SHIM_OBJ := $(SHIM_SRC:%.cpp=$(OBJ)/shim-pic/%.o) $(COMMON_SRC:%.cpp=$(OBJ)/shim-pic/%.o)
CTL_LIB_OBJ := $(filter-out $(OBJ)/ctl/controller/cli/main.o,$(CTL_SRC:%.cpp=$(OBJ)/ctl/%.o)) \
               $(COMMON_SRC:%.cpp=$(OBJ)/ctl/%.o)
CTL_OBJ := $(OBJ)/ctl/controller/cli/main.o $(CTL_LIB_OBJ)
UNIT_OBJ := $(UNIT_SRC:%.cpp=$(OBJ)/ctl/%.o) $(OBJ)/ctl/shim/core/trigger.o $(OBJ)/ctl/shim/core/bootstrap_arena.o \
            $(OBJ)/ctl/shim/core/signal_wait.o \
            $(addprefix $(OBJ)/ctl/shim/net/,epoll_registry.o net_rules.o net_plan.o bandwidth.o \
              net_sockets.o socket_holds.o exchanges.o)
# What the unit tests exercise of the controller (not the commands: the
# integration tests drive those), so that the sanitizer build does not
# compile toml++ (a minute under ASan; the fuzzer covers that loader).
UNIT_CTL_OBJ := $(addprefix $(OBJ)/ctl/controller/,report/metrics.o report/report_format.o \
                  report/xml_text.o sweep/plan.o sweep/verdict.o cli/cli.o \
                  cli/children.o cli/stop_signals.o) \
                $(COMMON_SRC:%.cpp=$(OBJ)/ctl/%.o)

# The default variant's programs live in build/; others in build/<variant>/
# so that debug and sanitizer builds coexist with it.
BIN := $(if $(filter release,$(variant)),$(BUILD),$(BUILD)/$(variant))
SHIM := $(BIN)/libfaultline.so
CLI := $(BIN)/faultline
UNIT := $(BIN)/unit-tests
TARGETS := $(patsubst tests/targets/%.cpp,$(BUILD)/targets/%,$(filter-out tests/targets/lib%,$(TARGET_SRC))) \
           $(patsubst tests/targets/%.cpp,$(BUILD)/targets/%.so,$(filter tests/targets/lib%,$(TARGET_SRC)))
BENCHES := $(patsubst bench/%.cpp,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: all deps test unit unit-sanitized integration demo bench install clean format check-format \
        fuzz fuzz-brief
all: $(SHIM) $(CLI)

$(OBJ)/shim-pic/%.o: %.cpp
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CXX(shim) $<")
	$(Q)$(CXX) $(CXXFLAGS_BASE) $(SHIM_FLAGS) -c $< -o $@

$(OBJ)/ctl/%.o: %.cpp
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CXX $<")
	$(Q)$(CXX) $(CXXFLAGS_BASE) $(CTL_FLAGS) -c $< -o $@

$(OBJ)/ctl/controller/cli/version.o: VERSION
$(OBJ)/ctl/controller/cli/version.o: CTL_FLAGS += -DFAULTLINE_VERSION='"$(VERSION)"'

# Linked with the C driver: no libstdc++ dependency in the host process.
$(SHIM): $(SHIM_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD $@")
	$(Q)$(CC) -shared -o $@ $^ -ldl -lpthread -Wl,-z,defs -Wl,--as-needed

$(CLI): $(CTL_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD $@")
	$(Q)$(CXX) $(CTL_FLAGS) -o $@ $^ $(CTL_LIBS) -Wl,--export-dynamic-symbol=faultline_cli_marker

$(UNIT): $(UNIT_OBJ) $(UNIT_CTL_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD $@")
	$(Q)$(CXX) $(CTL_FLAGS) -o $@ $^ $(CTL_LIBS)

$(BUILD)/targets/lib%.so: tests/targets/lib%.cpp
	@mkdir -p $(dir $@)
	$(Q)$(CXX) $(CXXFLAGS_BASE) -O1 -fPIC -shared -o $@ $<

$(BUILD)/targets/%: tests/targets/%.cpp
	@mkdir -p $(dir $@)
	$(Q)$(CXX) $(CXXFLAGS_BASE) -O1 -o $@ $< -L$(BUILD)/targets $(LDLIBS_EXTRA) -lpthread -Wl,-rpath,'$$ORIGIN'

$(BUILD)/bench/%: bench/%.cpp
	@mkdir -p $(dir $@)
	$(Q)$(CXX) $(CXXFLAGS_BASE) -O2 -o $@ $< $(LDLIBS_EXTRA) -lpthread

$(BUILD)/bench/sqlite_loop: LDLIBS_EXTRA := -lsqlite3
$(BUILD)/bench/event_db: LDLIBS_EXTRA := -lsqlite3

# targets that link test libraries
$(BUILD)/targets/early_ctor: $(BUILD)/targets/libearly_alloc.so
$(BUILD)/targets/early_ctor: LDLIBS_EXTRA := -learly_alloc
$(BUILD)/targets/db_retry: LDLIBS_EXTRA := -lsqlite3
$(BUILD)/targets/db_exec: LDLIBS_EXTRA := -lsqlite3
$(BUILD)/targets/db_prepare_len: LDLIBS_EXTRA := -lsqlite3
$(BUILD)/targets/hook_matrix: LDLIBS_EXTRA := -lsqlite3
$(BUILD)/targets/asan_error_path: LDLIBS_EXTRA := -fsanitize=address
$(BUILD)/targets/asan_error_path: CXXFLAGS_BASE += -fsanitize=address
# UBSan for signed overflow only: its one planted path (the others crash)
$(BUILD)/targets/planted_errors: LDLIBS_EXTRA := -lsqlite3 -fsanitize=signed-integer-overflow
$(BUILD)/targets/planted_errors: CXXFLAGS_BASE += -fsanitize=signed-integer-overflow

deps:
	$(Q)scripts/install-deps

unit: $(UNIT)
	$(Q)$(UNIT)

# The shim's core and the network state under ASan+UBSan and under TSan (the
# preload tests run plain: docs/pitfalls.md, item 16).
unit-sanitized:
	$(Q)$(MAKE) --no-print-directory sanitize=address,undefined unit
	$(Q)$(MAKE) --no-print-directory sanitize=thread unit

integration: all $(TARGETS)
	$(Q)tests/integration/run

test: deps
	$(Q)$(MAKE) --no-print-directory -j2 all $(UNIT) $(TARGETS) $(FUZZERS)
	$(Q)$(UNIT)
	$(Q)$(MAKE) --no-print-directory -j2 unit-sanitized
	$(Q)$(MAKE) --no-print-directory fuzz-brief
	$(Q)tests/integration/run

# libFuzzer targets (clang): the rule parser and the experiment loader, under
# ASan+UBSan. `make fuzz` runs each for FUZZ_SECONDS (default 300), keeping
# what it finds in build/fuzz/; `make test` runs each for 10 s on its corpus.
FUZZ_SECONDS ?= 300
FUZZ_CXX := clang++ -std=c++20 -g -O1 -I. -fsanitize=fuzzer,address,undefined \
            -fno-sanitize-recover=undefined
FUZZERS := $(BUILD)/fuzz/fuzz_rules $(BUILD)/fuzz/fuzz_experiment

$(BUILD)/fuzz/fuzz_rules: tests/fuzz/fuzz_rules.cpp common/rule_parser.cpp common/units.cpp \
                          $(wildcard common/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ $@")
	$(Q)$(FUZZ_CXX) -o $@ $(filter %.cpp,$^)

$(BUILD)/fuzz/fuzz_experiment: tests/fuzz/fuzz_experiment.cpp controller/experiment/experiment.cpp \
                               controller/cli/cli.cpp common/rule_parser.cpp common/units.cpp \
                               common/segment.cpp $(wildcard common/*.h controller/*/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ $@")
	$(Q)$(FUZZ_CXX) -o $@ $(filter %.cpp,$^) -lrt

fuzz-brief: $(FUZZERS)
	$(Q)for f in rules experiment; do \
	    mkdir -p $(BUILD)/fuzz/corpus-$$f && \
	    $(BUILD)/fuzz/fuzz_$$f -max_total_time=10 -timeout=5 -rss_limit_mb=2048 \
	        -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus-$$f tests/fuzz/corpus/$$f \
	        2>$(BUILD)/fuzz/fuzz_$$f.log || { tail -30 $(BUILD)/fuzz/fuzz_$$f.log; exit 1; }; \
	    echo "fuzz_$$f: $$(grep -o 'Done [0-9]* runs' $(BUILD)/fuzz/fuzz_$$f.log), no crash"; \
	done

fuzz: $(FUZZERS)
	$(Q)for f in rules experiment; do \
	    mkdir -p $(BUILD)/fuzz/corpus-$$f && \
	    $(BUILD)/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -timeout=5 -rss_limit_mb=2048 \
	        -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus-$$f tests/fuzz/corpus/$$f || exit 1; \
	done

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)examples/demo.sh

# BENCH_FLAGS: bench/run's flags, e.g. BENCH_FLAGS='--quick waits net' (bench/run --help).
bench: deps
	$(Q)$(MAKE) --no-print-directory -s -j2 all $(BENCHES)
	$(Q)bench/run $(BENCH_FLAGS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/faultline \
	    $(DESTDIR)$(PREFIX)/share/doc/faultline $(DESTDIR)$(PREFIX)/share/faultline/examples
	install -m 0755 $(CLI) $(DESTDIR)$(PREFIX)/bin/faultline
	install -m 0644 $(SHIM) $(DESTDIR)$(PREFIX)/lib/faultline/libfaultline.so
	install -m 0644 README.md ARCHITECTURE.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/faultline/
	cp -r examples/. $(DESTDIR)$(PREFIX)/share/faultline/examples/

format:
	clang-format -i $(COMMON_SRC) $(SHIM_SRC) $(CTL_SRC) $(UNIT_SRC) $(TARGET_SRC) $(BENCH_SRC) \
	    $(wildcard common/*.h shim/*/*.h controller/*/*.h)

check-format:
	clang-format --dry-run -Werror $(COMMON_SRC) $(SHIM_SRC) $(CTL_SRC) $(UNIT_SRC) $(TARGET_SRC) \
	    $(BENCH_SRC) $(wildcard common/*.h shim/*/*.h controller/*/*.h)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# secprof — seccomp profiles as code.
#
#   make            build secprofd and secprof into $(BUILD)
#   make check      the whole test suite, built with ASan and UBSan
#   make demo       mount the example repository and show what it serves
#   make bench      benchmark figures against in-run baselines
#   make install    PREFIX=/usr/local DESTDIR=
#   make deps       install the Debian packages the build and tests need

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
BUILD ?= build
VERSION := 0.1.0

CC ?= cc
PKGS := fuse3 libgit2 libseccomp jansson libcrypto
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wmissing-prototypes -Wshadow \
	-Wno-unused-parameter
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DSECPROF_VERSION='"$(VERSION)"' \
	$(WARN) $(CFLAGS) $(SAN_FLAGS) -Istore -Ifs $(PKG_CFLAGS) -pthread
ALL_LDFLAGS = $(LDFLAGS) $(SAN_FLAGS) -pthread

# SAN=1 builds with AddressSanitizer and UndefinedBehaviorSanitizer.
ifeq ($(SAN),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
endif

# Debian packages: build, then test tools.
DEB_BUILD := build-essential pkg-config libfuse3-dev fuse3 libgit2-dev \
	libseccomp-dev libjansson-dev libssl-dev git clang-format
DEB_TEST := bubblewrap podman runc crun conmon \
	golang-github-containers-common netavark busybox-static libcmocka-dev \
	valgrind clang libclang-rt-14-dev python3 util-linux procps psmisc \
	strace
DEB_ALL := $(DEB_BUILD) $(DEB_TEST)

STORE_MAIN := store/secprof.c $(wildcard store/cmd_*.c)
STORE_LIB_SRC := $(filter-out $(STORE_MAIN),$(wildcard store/*.c))
FS_MAIN := fs/main.c
FS_LIB_SRC := $(filter-out $(FS_MAIN),$(wildcard fs/*.c))
UNIT_SRC := $(wildcard tests/unit/test_*.c)

# V=1 shows the full commands.
ifeq ($(V),1)
Q :=
quiet = @true
else
Q := @
quiet = @echo "  $(1) $(2)"
endif

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

LIBSTORE := $(BUILD)/libstore.a
LIBFS := $(BUILD)/libfs.a
SECPROFD := $(BUILD)/secprofd
SECPROF := $(BUILD)/secprof
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
PROBE := $(BUILD)/probe
FUZZ_BIN := $(BUILD)/fuzz/fuzz_profile
FUZZ_SRC := tests/fuzz/fuzz_profile.c store/bpf.c store/profile.c \
	store/error.c store/log.c
FUZZ_TIME ?= 600

.PHONY: all check demo bench install deps format check-format unit \
	fuzz clean need-deps

all: $(SECPROFD) $(SECPROF)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call quiet,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIBSTORE): $(call obj,$(STORE_LIB_SRC))
	@rm -f $@
	$(call quiet,AR,$@)
	$(Q)ar rcs $@ $^

$(LIBFS): $(call obj,$(FS_LIB_SRC))
	@rm -f $@
	$(call quiet,AR,$@)
	$(Q)ar rcs $@ $^

$(SECPROFD): $(call obj,$(FS_MAIN)) $(LIBFS) $(LIBSTORE)
	$(call quiet,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(SECPROF): $(call obj,$(STORE_MAIN)) $(LIBSTORE)
	$(call quiet,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIBFS) $(LIBSTORE)
	@mkdir -p $(dir $@)
	$(call quiet,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

# The syscall probe runs inside containers with nothing else: static.
$(PROBE): tests/probe/probe.c
	@mkdir -p $(dir $@)
	$(call quiet,LD,$@)
	$(Q)$(CC) -static -O2 -std=c11 -D_GNU_SOURCE $(WARN) -o $@ $<

# libFuzzer over the profile parser and compiler (clang only).
$(FUZZ_BIN): $(FUZZ_SRC)
	@mkdir -p $(dir $@)
	$(call quiet,FUZZ,$@)
	$(Q)clang -fsanitize=fuzzer,address,undefined -g -O1 -std=c11 \
		-D_GNU_SOURCE -Istore $^ -o $@ \
		$$(pkg-config --cflags --libs libseccomp jansson) -pthread

fuzz: $(FUZZ_BIN)
	rm -rf $(BUILD)/fuzz/work && mkdir -p $(BUILD)/fuzz/work
	LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp) \
	$(FUZZ_BIN) -max_total_time=$(FUZZ_TIME) -max_len=24000 -timeout=10 \
		-artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/work tests/fuzz/corpus

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Install missing Debian packages (as root); a no-op when all are present.
deps:
	@missing=$$(for p in $(DEB_ALL); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends $$missing; \
	fi

need-deps:
	@pkg-config --exists $(PKGS) && command -v podman >/dev/null && \
		command -v bwrap >/dev/null && \
		[ -f /usr/include/cmocka.h ] || $(MAKE) --no-print-directory deps

SOURCES = $(wildcard store/*.[ch] fs/*.[ch] tests/unit/*.[ch] \
	tests/bench/*.[ch] tests/fuzz/*.[ch] tests/probe/*.[ch])

format:
	clang-format -i $(SOURCES)

check-format:
	@clang-format --dry-run -Werror $(SOURCES) && echo "format: ok"

unit: $(UNIT_BIN) $(PROBE)

check: need-deps
	@$(MAKE) --no-print-directory check-format
	@$(MAKE) --no-print-directory SAN=1 BUILD=$(BUILD)/san all unit \
		$(BUILD)/san/fuzz/fuzz_profile
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/plain all unit
	PLAIN_BUILD=$(abspath $(BUILD)/plain) tests/run.sh $(BUILD)/san

demo: need-deps all
	examples/demo.sh $(BUILD)

bench: need-deps all
	tests/bench/run.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR)
	install -m 0755 $(SECPROFD) $(DESTDIR)$(SBINDIR)/secprofd
	install -m 0755 $(SECPROF) $(DESTDIR)$(BINDIR)/secprof

clean:
	rm -rf $(BUILD)

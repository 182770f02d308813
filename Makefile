# superconv: LR range tests and 1cycle training from the shell.

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
SHAREDIR = $(PREFIX)/share/superconv
MANDIR = $(PREFIX)/share/man

CC ?= cc
CFLAGS ?= -O2 -g
# What the code needs, whatever CFLAGS the user gives.
ALL_CFLAGS = -std=c11 -Wall -Wextra -Wno-psabi -D_DEFAULT_SOURCE -fopenmp \
    -fvect-cost-model=cheap -ffp-contract=fast -Ilib $(CFLAGS)
ALL_LDFLAGS = -fopenmp $(LDFLAGS)
LDLIBS = -lcsv -lcjson -lz -lm -ldl

# O is where the build goes: objects in $(O)/obj, programs in $(O)/bin.
O ?= .
TOOLS = lrtest lrsuggest clrgen train
LIB_SRC = $(wildcard lib/*.c)
LIB_OBJ = $(patsubst lib/%.c,$(O)/obj/%.o,$(LIB_SRC))
LIB = $(O)/obj/libsuperconv.a
UNIT_SRC = $(wildcard tests/unit/*.c)
UNIT = $(patsubst tests/unit/%.c,$(O)/obj/%,$(UNIT_SRC))
GP = $(wildcard scripts/*.gp)

SANITIZE_FLAGS = -O1 -g -fsanitize=address,undefined \
    -fno-omit-frame-pointer -fno-sanitize-recover=all

# The fuzz targets (fuzz/fuzz_NAME.c), one per reader of untrusted
# files; FUZZ_SECONDS is how long make fuzz runs each.
FUZZ_NAMES = csv bounds idx ckpt
FUZZ_REPLAY = $(patsubst %,$(O)/obj/fuzz_%,$(FUZZ_NAMES))
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_DIR = build/fuzz
FUZZ_CFLAGS = -std=c11 -Wall -Wextra -Wno-unknown-pragmas -D_DEFAULT_SOURCE \
    -Ilib -Ifuzz -O1 -g -fno-omit-frame-pointer \
    -fsanitize=address,undefined -fno-sanitize-recover=all
# The readers and what they call: no OpenMP, no BLAS.
FUZZ_LIB_SRC = lib/sc_error.c lib/sc_csv.c lib/sc_suggest.c \
    lib/sc_data.c lib/sc_rng.c lib/sc_ckpt.c lib/sc_io.c
FUZZ_LIB = $(FUZZ_DIR)/obj/libreaders.a

.PHONY: all check unit bats demo bench install uninstall clean deps \
    sanitize replay fuzz memcheck

all: $(addprefix $(O)/bin/,$(TOOLS))

$(LIB): $(LIB_OBJ)
	$(AR) rcs $@ $^

$(O)/obj/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(O)/obj
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(O)/bin/%: cmd/%.c cmd/tool.h $(LIB)
	@mkdir -p $(O)/bin
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(ALL_LDFLAGS) $(LDLIBS)

$(O)/obj/test_%: tests/unit/test_%.c tests/unit/check.h $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(ALL_LDFLAGS) $(LDLIBS)

# Each fuzz target as a plain program that replays files, built like
# the unit tests with whatever compiler builds the rest.
$(O)/obj/fuzz_%: fuzz/fuzz_%.c fuzz/driver.c fuzz/memfile.c fuzz/fuzz.h \
    $(LIB)
	$(CC) $(ALL_CFLAGS) -Ifuzz -o $@ fuzz/fuzz_$*.c fuzz/driver.c \
	    fuzz/memfile.c $(LIB) $(ALL_LDFLAGS) $(LDLIBS)

deps:
	scripts/install-deps

unit: $(UNIT)
	@for t in $(UNIT); do echo "$$t"; $$t || exit 1; done

# The seed corpus and every input that once crashed a reader, through
# the readers again.
replay: $(FUZZ_REPLAY)
	@for t in $(FUZZ_NAMES); do \
	    dirs=fuzz/corpus/$$t; \
	    [ -d fuzz/regress/$$t ] && dirs="$$dirs fuzz/regress/$$t"; \
	    $(O)/obj/fuzz_$$t $$dirs || exit 1; \
	done

# The suites' TAP, then one closing line with the totals.
bats: all
	@SUPERCONV_BIN=$(abspath $(O)/bin) bats tests/*.bats \
	    >$(O)/obj/bats.tap; status=$$?; cat $(O)/obj/bats.tap; \
	awk '/^ok /{ p++ } /^not ok /{ f++ } \
	    END { printf "bats: %d passed, %d failed\n", p, f }' \
	    $(O)/obj/bats.tap; exit $$status

check: deps
	$(MAKE) all $(UNIT) $(FUZZ_REPLAY)
	$(MAKE) unit replay bats

demo: deps
	$(MAKE) all
	scripts/demo

$(O)/bin/sgemm-peak: scripts/sgemm-peak.c $(LIB)
	@mkdir -p $(O)/bin
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(ALL_LDFLAGS) $(LDLIBS)

bench: deps
	$(MAKE) all $(O)/bin/sgemm-peak
	scripts/bench

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHAREDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	install -m 755 $(addprefix $(O)/bin/,$(TOOLS)) $(DESTDIR)$(BINDIR)
	install -m 755 scripts/lrplot $(DESTDIR)$(BINDIR)/lrplot
	install -m 644 $(GP) $(DESTDIR)$(SHAREDIR)
	install -m 644 man/man1/*.1 $(DESTDIR)$(MANDIR)/man1
	install -m 644 man/man7/*.7 $(DESTDIR)$(MANDIR)/man7

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(TOOLS) lrplot)
	rm -rf $(DESTDIR)$(SHAREDIR)
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(addsuffix .1,$(TOOLS) lrplot))
	rm -f $(DESTDIR)$(MANDIR)/man7/superconv.7

# The whole suite again, built with AddressSanitizer and
# UndefinedBehaviorSanitizer: any error they find fails the run.  An
# allocation too large to have returns NULL, as malloc's does, so that
# the tests of running out of memory see the tools' own message.
sanitize: deps
	ASAN_OPTIONS=allocator_may_return_null=1 \
	$(MAKE) O=build/sanitize CFLAGS="$(SANITIZE_FLAGS)" \
	    LDFLAGS="-fsanitize=address,undefined" all unit replay bats

# libFuzzer on each reader for FUZZ_SECONDS, from a scratch copy of its
# seed corpus (clang; objects in build/fuzz).  A crash fails the run and
# leaves its input in build/fuzz/run/NAME/crashes.
$(FUZZ_DIR)/obj/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(FUZZ_DIR)/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_LIB): $(patsubst lib/%.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_LIB_SRC))
	$(AR) rcs $@ $^

$(FUZZ_DIR)/bin/fuzz_%: fuzz/fuzz_%.c fuzz/memfile.c fuzz/fuzz.h $(FUZZ_LIB)
	@mkdir -p $(FUZZ_DIR)/bin
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ fuzz/fuzz_$*.c \
	    fuzz/memfile.c $(FUZZ_LIB) -lcsv -lcjson -lz -lm

fuzz: deps
	$(MAKE) $(patsubst %,$(FUZZ_DIR)/bin/fuzz_%,$(FUZZ_NAMES))
	scripts/fuzz $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_NAMES)

# Valgrind's memcheck on a short run of each tool (scripts/memcheck).
memcheck: deps
	$(MAKE) all
	scripts/memcheck $(O)/bin

clean:
	rm -rf bin obj build demo-out

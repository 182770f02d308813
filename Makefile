# superconv: LR range tests and 1cycle training from the shell.

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
SHAREDIR = $(PREFIX)/share/superconv
MANDIR = $(PREFIX)/share/man

CC ?= cc
CFLAGS ?= -O2 -g
# What the code needs, whatever CFLAGS the user gives.
ALL_CFLAGS = -std=c11 -Wall -Wextra -D_DEFAULT_SOURCE -fopenmp \
    -fvect-cost-model=cheap -Ilib $(CFLAGS)
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

.PHONY: all check unit bats demo bench install uninstall clean deps \
    sanitize

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

deps:
	scripts/install-deps

unit: $(UNIT)
	@for t in $(UNIT); do echo "$$t"; $$t || exit 1; done

# The suites' TAP, then one closing line with the totals.
bats: all
	@SUPERCONV_BIN=$(abspath $(O)/bin) bats tests/*.bats \
	    >$(O)/obj/bats.tap; status=$$?; cat $(O)/obj/bats.tap; \
	awk '/^ok /{ p++ } /^not ok /{ f++ } \
	    END { printf "bats: %d passed, %d failed\n", p, f }' \
	    $(O)/obj/bats.tap; exit $$status

check: deps
	$(MAKE) all $(UNIT)
	$(MAKE) unit bats

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
	install -m 755 $(addprefix bin/,$(TOOLS)) $(DESTDIR)$(BINDIR)
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
# UndefinedBehaviorSanitizer: any error they find fails the run.
sanitize: deps
	$(MAKE) O=build/sanitize CFLAGS="$(SANITIZE_FLAGS)" \
	    LDFLAGS="-fsanitize=address,undefined" all unit bats

clean:
	rm -rf bin obj build demo-out

# superconv: LR range tests and 1cycle training from the shell.

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
SHAREDIR = $(PREFIX)/share/superconv
MANDIR = $(PREFIX)/share/man

CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -Wall -Wextra -D_DEFAULT_SOURCE -fopenmp -fvect-cost-model=cheap -Ilib
LDFLAGS += -fopenmp
LDLIBS = -lcsv -lcjson -lz -lm -ldl

TOOLS = lrtest lrsuggest clrgen train
LIB_SRC = $(wildcard lib/*.c)
LIB_OBJ = $(LIB_SRC:.c=.o)
LIB = lib/libsuperconv.a
UNIT_SRC = $(wildcard tests/unit/*.c)
UNIT = $(UNIT_SRC:.c=)
GP = $(wildcard scripts/*.gp)

.PHONY: all check unit bats demo bench install uninstall clean deps

all: $(addprefix bin/,$(TOOLS))

$(LIB): $(LIB_OBJ)
	$(AR) rcs $@ $^

lib/%.o: lib/%.c $(wildcard lib/*.h)
	$(CC) $(CFLAGS) -c -o $@ $<

bin/%: cmd/%.c $(LIB)
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

tests/unit/%: tests/unit/%.c $(LIB)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

deps:
	scripts/install-deps

unit: $(UNIT)
	@for t in $(UNIT); do echo "$$t"; $$t || exit 1; done

bats: all
	bats tests/*.bats

check: deps
	$(MAKE) all $(UNIT)
	$(MAKE) unit bats

demo: deps
	$(MAKE) all
	scripts/demo

bin/sgemm-peak: scripts/sgemm-peak.c $(LIB)
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

bench: deps
	$(MAKE) all bin/sgemm-peak
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

clean:
	rm -rf bin demo-out $(LIB) $(LIB_OBJ) $(UNIT)

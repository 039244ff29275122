# slo_guard: PGXS build.
#   sql/slo_guard.sql          install script (copied to slo_guard--$(EXTVERSION).sql)
#   sql/slo_guard--*--*.sql    upgrade scripts (picked up by wildcard)
#   src/*.c, src/kinds/*.c     the C module, one file per responsibility / check kind
#   test/sql, test/expected    pg_regress (SQL surface)
#   test/pgtap                 pgTAP (behaviour), run by scripts/test.sh
#   test/t                     Perl TAP tests (worker, restarts, standby)
EXTENSION = slo_guard
# The version lives only in slo_guard.control.
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = slo_guard
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c) $(wildcard src/kinds/*.c)))

DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
# Older versions' full install scripts (frozen; never edited) and every upgrade script.
DATA = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*.sql))

REGRESS = $(sort $(notdir $(basename $(wildcard test/sql/*.sql))))
REGRESS_OPTS = --inputdir=test --outputdir=test --temp-instance=test/tmp_check \
	--temp-config=test/regress.conf --dbname=contrib_regression --encoding=UTF8

TAP_TESTS = 1
PROVE_TESTS = $(sort $(wildcard test/t/*.pl))

# PostgreSQL's own headers are not -Wextra clean: include them as system headers
# so that `make PG_CFLAGS='-Wall -Wextra -Werror'` judges only our code.  Callbacks
# (GUC hooks, kind validators) have fixed signatures, hence -Wno-unused-parameter.
PG_CPPFLAGS = -I$(srcdir)/src -isystem $(shell $(PG_CONFIG) --includedir-server) \
	-Wno-unused-parameter $(shell curl-config --cflags)
SHLIB_LINK = $(shell curl-config --libs)

EXTRA_CLEAN = test/results test/regression.diffs test/regression.out test/tmp_check test/log \
	tmp_check

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql
	cp $< $@

# PGXN metadata: the version comes from the control file (committed, so that a
# PGXN archive of the tree carries it; scripts/package-test.sh checks it is current).
# PGXN wants a semantic version: 1.1 is published as 1.1.0.
META_VERSION = $(if $(word 3,$(subst ., ,$(EXTVERSION))),$(EXTVERSION),$(EXTVERSION).0)
META.json: META.json.in $(EXTENSION).control
	sed 's/@METAVERSION@/$(META_VERSION)/g' $< > $@

# A PGXN release archive of the committed tree: make dist
dist: META.json
	git archive --format zip --prefix=$(EXTENSION)-$(EXTVERSION)/ -o $(EXTENSION)-$(EXTVERSION).zip HEAD

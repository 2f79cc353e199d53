#!/bin/sh
# Replay the committed corpus of SCRAM server messages (the tools' own
# connection) through the fuzz target (make check); -runs=0 makes a
# libFuzzer build only
# execute the corpus; the plain driver ignores it.
: "${MOLDAU_BUILDDIR:?}" "${MOLDAU_SRCDIR:?}"
"$MOLDAU_BUILDDIR/tests/fuzz/fuzz_scram_client" -runs=0 \
    "$MOLDAU_SRCDIR/tests/fuzz/corpus/scram_client/"
exit $?

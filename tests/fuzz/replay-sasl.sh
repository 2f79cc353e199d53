#!/bin/sh
# Replay the committed SASL corpus (PLAIN and SCRAM client messages)
# through the fuzz target (make check).  -runs=0 makes a libFuzzer build
# only execute the corpus; the plain driver ignores it.
: "${MOLDAU_BUILDDIR:?}" "${MOLDAU_SRCDIR:?}"
"$MOLDAU_BUILDDIR/tests/fuzz/fuzz_sasl" -runs=0 \
    "$MOLDAU_SRCDIR/tests/fuzz/corpus/sasl/"
exit $?

#!/bin/sh
# Replay the committed IPC corpus (frames as peers send them) through the
# fuzz target (make check).  -runs=0 makes a libFuzzer build only execute the corpus; the
# plain driver ignores it.
: "${MOLDAU_BUILDDIR:?}" "${MOLDAU_SRCDIR:?}"
"$MOLDAU_BUILDDIR/tests/fuzz/fuzz_ipc" -runs=0 \
    "$MOLDAU_SRCDIR/tests/fuzz/corpus/ipc/"
exit $?

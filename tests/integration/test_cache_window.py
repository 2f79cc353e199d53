"""Page-cache drop-behind (broker.log.cache.window.bytes, .cache.max.bytes).

A broker with a 4 MiB window keeps about that much of a partition's newest
data in the page cache: 48 MiB produced to one partition leave at most a
few MiB of the segment resident (fincore(1) counts the pages), while a
broker with the window off (0) keeps all of it.  Either way every record
reads back intact, the dropped ones from disk.

The budget: with log.cache.max.bytes below two windows, writing to a
second topic drops the first topic's window whole; and a segment that
rolled keeps nothing cached.
"""

import glob
import os
import subprocess
import time

import harness
from harness import Broker
from test_confluent import consume_all, create_topics, produce

MIB = 1 << 20
WINDOW = 4 * MIB
SIZE = 10 * 1024
COUNT = 48 * MIB // SIZE


def resident(path):
    """Bytes of path in the page cache."""
    out = subprocess.run(["fincore", "--bytes", "--noheadings",
                          "--output", "RES", path],
                         check=True, capture_output=True, text=True).stdout
    return int(out.split()[0])


def value(i):
    head = b"record %08d " % i
    return head + bytes((i + j) & 0xFF for j in range(SIZE - len(head)))


def run_one(window):
    b = Broker(sets=["broker.log.cache.window.bytes=%d" % window],
               name="cw%d" % window).start()
    try:
        create_topics(b.bootstrap, [("cw", 1)])
        res = produce(b.bootstrap, "cw",
                      [(None, value(i), 0, None) for i in range(COUNT)],
                      {"linger.ms": 20, "batch.size": 1000000})
        assert res == [(0, i) for i in range(COUNT)], \
            "acknowledged offsets are not 0..%d" % (COUNT - 1)
        seg = glob.glob(os.path.join(b.data_dir, "cw-0", "*.log"))
        assert len(seg) == 1, seg
        size = os.path.getsize(seg[0])
        assert size > COUNT * SIZE, (size, COUNT * SIZE)
        # the dropper thread works behind the acknowledgements
        deadline = time.monotonic() + 10
        while True:
            res_bytes = resident(seg[0])
            if window == 0 or res_bytes <= window + 2 * MIB or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.2)
        harness.log("window %d: segment %d bytes, %d resident" %
                    (window, size, res_bytes))
        got = consume_all(b.bootstrap, "cw", 1, COUNT)[0]
        assert [o for o, _, _ in got] == list(range(COUNT))
        bad = [o for o, _, v in got if v != value(o)]
        assert not bad, "%d records read back wrong, first at %d" % \
            (len(bad), bad[0])
        return size, res_bytes
    finally:
        b.stop()


def wait_resident(paths, limit, timeout=10):
    """Bytes of paths in the page cache, once at most limit (or at the
    timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        n = sum(resident(p) for p in paths)
        if n <= limit or time.monotonic() > deadline:
            return n
        time.sleep(0.2)


def check_budget():
    b = Broker(sets=["broker.log.cache.window.bytes=%d" % WINDOW,
                     "broker.log.cache.max.bytes=%d" % (WINDOW + WINDOW // 2),
                     "broker.log.segment.bytes=%d" % (16 * MIB)],
               name="cwbudget").start()
    try:
        create_topics(b.bootstrap, [("first", 1), ("second", 1)])
        n = 24 * MIB // SIZE
        for topic in ("first", "second"):
            res = produce(b.bootstrap, topic,
                          [(None, value(i), 0, None) for i in range(n)],
                          {"linger.ms": 20, "batch.size": 1000000})
            assert res == [(0, i) for i in range(n)], topic
        segs = {t: sorted(glob.glob(os.path.join(b.data_dir, t + "-0",
                                                 "*.log")))
                for t in ("first", "second")}
        assert len(segs["first"]) == 2 and len(segs["second"]) == 2, segs
        # the first topic's active window went for the second's
        first = wait_resident(segs["first"], 2 * MIB)
        # the rolled segment of the second went whole; its active one
        # keeps the window
        rolled = wait_resident(segs["second"][:1], 2 * MIB)
        active = resident(segs["second"][1])
        harness.log("budget %d: first topic %d resident, second's rolled "
                    "segment %d, its active one %d" %
                    (WINDOW + WINDOW // 2, first, rolled, active))
        assert first <= 2 * MIB, \
            "first topic still has %d bytes cached" % first
        assert rolled <= 2 * MIB, \
            "rolled segment still has %d bytes cached" % rolled
        assert WINDOW // 2 <= active <= WINDOW + 2 * MIB, \
            "active segment of the newest topic has %d bytes cached" % active
        for topic in ("first", "second"):
            got = consume_all(b.bootstrap, topic, 1, n)[0]
            assert [v for _, _, v in got] == [value(i) for i in range(n)], \
                topic
    finally:
        b.stop()


def test():
    size, res_on = run_one(WINDOW)
    # the window, plus at most one 1 MiB step and a large folio across
    # the last step's end
    assert res_on <= WINDOW + 2 * MIB, \
        "%d of %d bytes still cached with a %d window" % (res_on, size,
                                                          WINDOW)
    size, res_off = run_one(0)
    assert res_off >= size - MIB, \
        "window off: only %d of %d bytes cached" % (res_off, size)
    check_budget()


if __name__ == "__main__":
    harness.run(test, timeout=300)

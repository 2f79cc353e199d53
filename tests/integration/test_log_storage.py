"""Storage engine: segments, indexes, recovery, retention, durable produce.

- torn tail and garbage tail: a segment whose last batch is cut short and
  one with random bytes appended recover to the last valid batch after an
  unclean stop, and the broker logs what it truncated;
- look-ups in a multi-segment log (MOLDAU_LOOKUP_MB, default 100 MB):
  ListOffsets by timestamp and Fetch at random offsets agree with a linear
  scan; broker CPU time per look-up is reported;
- retention by time and by bytes delete whole segments, the earliest offset
  advances, and a fetch below it gets OFFSET_OUT_OF_RANGE;
- durable produce (log.flush.interval.messages=1) acknowledges everything;
- start-up time with 1,000 partitions, clean and unclean.
"""

import bisect
import glob
import os
import random
import struct
import time

import harness
from harness import Broker
from test_confluent import consume_all, create_topics, produce


def create_with(bootstrap, topic, parts, config):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    fs = admin.create_topics([NewTopic(topic, num_partitions=parts,
                                       replication_factor=1,
                                       config=config)],
                             request_timeout=15)
    for _, f in fs.items():
        assert f.result(timeout=30) is None


def pdir(b, topic, p=0):
    return os.path.join(b.data_dir, "%s-%d" % (topic, p))


def segments(b, topic, p=0):
    return sorted(glob.glob(os.path.join(pdir(b, topic, p), "*.log")))


def watermarks(bootstrap, topic, p=0):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "wm"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
    finally:
        c.close()


def one_by_one(bootstrap, topic, n):
    """n messages, each in its own batch."""
    for i in range(n):
        produce(bootstrap, topic, [(b"k", b"msg %d" % i, 0, None)],
                {"linger.ms": 0})


def check_torn_and_garbage():
    b = Broker(name="torn").start()
    try:
        create_topics(b.bootstrap, [("torn", 1), ("garb", 1)])
        one_by_one(b.bootstrap, "torn", 20)
        one_by_one(b.bootstrap, "garb", 20)
        b.stop()
        # An unclean stop: no clean-shutdown marker.
        for t in ("torn", "garb"):
            m = os.path.join(pdir(b, t), "clean-shutdown")
            if os.path.exists(m):
                os.unlink(m)
        seg = segments(b, "torn")[-1]
        size = os.path.getsize(seg)
        with open(seg, "r+b") as f:
            f.truncate(size - 7)
        seg = segments(b, "garb")[-1]
        with open(seg, "ab") as f:
            f.write(bytes(random.getrandbits(8) for _ in range(5000)))
        b.start()
        err = b.stderr()
        assert "torn-0/00000000000000000000.log: truncating" in err, err
        assert "garb-0/00000000000000000000.log: truncating 5000 bytes" \
            in err, err
        got = consume_all(b.bootstrap, "torn", 1, 19)[0]
        assert [o for o, _, _ in got] == list(range(19)), got
        got = consume_all(b.bootstrap, "garb", 1, 20)[0]
        assert [v for _, _, v in got] == [b"msg %d" % i for i in range(20)]
        # The log goes on from the last valid batch.
        dr = produce(b.bootstrap, "torn", [(b"k", b"after", 0, None)])
        assert dr[0] == (0, 19), dr
        harness.log("torn tail and garbage tail recovered")
    finally:
        b.stop()


def check_lookups():
    mb = int(os.environ.get("MOLDAU_LOOKUP_MB", "100"))
    size = 1000
    n = mb * 1024 * 1024 // size
    b = Broker(name="lookup").start()
    try:
        segbytes = max(1 << 20, mb * 1024 * 1024 // 20)
        create_with(b.bootstrap, "big", 1, {"segment.bytes": str(segbytes)})
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 5,
                      "batch.size": 65536, "queue.buffering.max.kbytes":
                      262144})
        base = int(time.time() * 1000) - 10 * n
        rnd = random.Random(7)
        val = b"x" * size
        for i in range(n):
            # Mostly increasing timestamps with some disorder.
            ts = base + i * 10 + rnd.randint(-40, 40)
            while True:
                try:
                    p.produce("big", val, partition=0, timestamp=ts)
                    break
                except BufferError:
                    p.poll(0.05)
        assert p.flush(120) == 0
        segs = segments(b, "big")
        harness.log("lookup: %d records, %d MB in %d segments" %
                    (n, mb, len(segs)))
        assert len(segs) > 5
        # Linear scan: every (offset, timestamp).
        from confluent_kafka import (OFFSET_BEGINNING, Consumer,
                                     TopicPartition)
        c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "lk",
                      "enable.auto.commit": False})
        c.assign([TopicPartition("big", 0, OFFSET_BEGINNING)])
        stamps = []
        while len(stamps) < n:
            for m in c.consume(num_messages=10000, timeout=1.0):
                assert m.error() is None, m.error()
                assert m.offset() == len(stamps)
                stamps.append(m.timestamp()[1])
        harness.log("lookup: linear scan done")
        # A parked Fetch would hold the ListOffsets answers behind it.
        c.unassign()
        # First offset with timestamp >= ts = first running maximum >= ts.
        runmax, m = [], -1
        for t in stamps:
            m = max(m, t)
            runmax.append(m)
        cpu0 = b.cpu_seconds()
        nq = 200
        for _ in range(nq):
            ts = rnd.randint(base - 100, base + 10 * n + 100)
            want = bisect.bisect_left(runmax, ts)
            want = want if want < n else -1
            got = c.offsets_for_times([TopicPartition("big", 0, ts)],
                                      timeout=10)[0]
            assert got.offset == want, (ts, got.offset, want)
        cpu_lo = b.cpu_seconds()
        harness.log("lookup: ListOffsets by time checked")
        for _ in range(20):
            off = rnd.randrange(n)
            c.assign([TopicPartition("big", 0, off)])
            ms = []
            while not ms:
                ms = c.consume(num_messages=1, timeout=5.0)
            assert ms[0].error() is None and ms[0].offset() == off
            assert ms[0].timestamp()[1] == stamps[off]
        c.close()
        # Broker time of a Fetch alone: raw Fetch v4 on one connection,
        # one batch each (partition max bytes 1: the first batch whole).
        from kafka.protocol.fetch import FetchRequest
        from test_groups_errors import Conn
        conn = Conn(b.bootstrap)
        offs = [rnd.randrange(n) for _ in range(nq)]
        cpu1 = b.cpu_seconds()
        for off in offs:
            r = conn.call(FetchRequest[4](-1, 0, 1, 1 << 20, 0,
                                          [("big", [(0, off, 1)])]))
            (_, parts), = r.topics
            (_, err, hw, _, _, recs), = parts
            assert err == 0 and hw == n, (err, hw)
            bo, ln, _, magic, _, _, lod = struct.unpack_from(
                ">qiibIhi", recs, 0)
            assert bo <= off <= bo + lod and len(recs) == ln + 12, \
                (off, bo, lod, len(recs), ln)
        cpu2 = b.cpu_seconds()
        conn.close()
        harness.log("lookup: broker CPU %.3f ms per ListOffsets by time, "
                    "%.3f ms per Fetch at a random offset" %
                    ((cpu_lo - cpu0) * 1000 / nq, (cpu2 - cpu1) * 1000 / nq))
    finally:
        b.stop()


def check_retention():
    b = Broker(name="retention").start()
    try:
        create_with(b.bootstrap, "rt", 1, {"segment.bytes": "16384",
                                           "retention.ms": "60000"})
        create_with(b.bootstrap, "rb", 1, {"segment.bytes": "16384",
                                           "retention.bytes": "65536"})
        old = int(time.time() * 1000) - 3600 * 1000
        msgs = [(None, b"v" * 1000, 0, old + i) for i in range(200)]
        small = {"linger.ms": 0, "batch.size": 4000}
        produce(b.bootstrap, "rt", msgs, small)
        produce(b.bootstrap, "rt", [(None, b"new", 0, None)])
        produce(b.bootstrap, "rb", [(None, b"w" * 1000, 0, None)
                                    for _ in range(500)], small)
        harness.wait_for(lambda: len(segments(b, "rt")) == 1, 20,
                         "time retention deletes old segments")
        lo, hi = watermarks(b.bootstrap, "rt")
        assert lo > 0 and hi == 201, (lo, hi)

        def small():
            total = sum(os.path.getsize(s) for s in segments(b, "rb"))
            return total <= 65536 + 16384 + 2048
        harness.wait_for(small, 20, "size retention")
        lo, hi = watermarks(b.bootstrap, "rb")
        assert lo > 0 and hi == 500, (lo, hi)
        from confluent_kafka import Consumer, KafkaError, TopicPartition
        c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "oor",
                      "auto.offset.reset": "error"})
        c.assign([TopicPartition("rb", 0, 0)])
        err = None
        deadline = time.monotonic() + 20
        while err is None and time.monotonic() < deadline:
            for m in c.consume(num_messages=1, timeout=1.0):
                if m.error() is not None:
                    err = m.error()
                else:
                    raise AssertionError("read offset %d below log start" %
                                         m.offset())
        c.close()
        assert err is not None and err.code() == \
            KafkaError._AUTO_OFFSET_RESET, err
        # Restart: the log start offset stays.
        b.restart()
        assert watermarks(b.bootstrap, "rb")[0] == lo
        harness.log("retention: rt earliest %d, rb earliest %d" %
                    (watermarks(b.bootstrap, "rt")[0], lo))
    finally:
        b.stop()


def check_durable():
    b = Broker(name="durable",
               sets=["broker.log.flush.interval.messages=1"]).start()
    try:
        create_topics(b.bootstrap, [("dur", 4)])
        n = 20000
        t0 = time.monotonic()
        dr = produce(b.bootstrap, "dur", [(None, b"d" * 100, None, None)
                                          for _ in range(n)])
        dt = time.monotonic() - t0
        assert len(dr) == n
        b.kill()
        b.start()
        got = consume_all(b.bootstrap, "dur", 4, n)
        assert sum(len(v) for v in got.values()) == n
        harness.log("durable produce: %d x 100 B in %.2fs (%.0f msg/s)" %
                    (n, dt, n / dt))
    finally:
        b.stop()


def check_startup():
    b = Broker(name="startup").start()
    try:
        create_topics(b.bootstrap, [("many", 1000)])
        produce(b.bootstrap, "many", [(None, b"s", i % 1000, None)
                                      for i in range(5000)])
        for kill in (False, True):
            t0 = time.monotonic()
            b.restart(kill=kill)
            dt = time.monotonic() - t0
            harness.log("startup with 1000 partitions after %s stop: "
                        "%.2fs (stop + start)" %
                        ("an unclean" if kill else "a clean", dt))
        got = consume_all(b.bootstrap, "many", 1000, 5000)
        assert sum(len(v) for v in got.values()) == 5000
    finally:
        b.stop()


def test():
    if os.environ.get("MOLDAU_LOG_STORAGE_ONLY") == "lookups":
        return check_lookups()
    check_torn_and_garbage()
    check_retention()
    check_durable()
    check_startup()
    check_lookups()


if __name__ == "__main__":
    harness.run(test, timeout=900)

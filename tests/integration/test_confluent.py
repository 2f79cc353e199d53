"""confluent-kafka (librdkafka 2.0.2) against a real broker: CreateTopics,
100,000 keyed messages over 3 partitions read back exactly once and in
per-partition order, watermarks and offsets_for_times (ListOffsets), and
every compression codec."""

import time

import harness
from harness import Broker

N = 100000
TOPIC = "cf-three"
PARTS = 3


def create_topics(bootstrap, specs):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    fs = admin.create_topics([NewTopic(t, num_partitions=p,
                                       replication_factor=1)
                              for t, p in specs], request_timeout=15)
    for t, f in fs.items():
        assert f.result(timeout=30) is None, "create_topics %s" % t
    md = admin.list_topics(timeout=15)
    for t, p in specs:
        assert t in md.topics, "created topic %s not in metadata" % t
        tm = md.topics[t]
        assert tm.error is None, "topic %s: %s" % (t, tm.error)
        assert sorted(tm.partitions) == list(range(p)), \
            "topic %s has partitions %r, want %d" % (t, sorted(tm.partitions),
                                                     p)


def produce(bootstrap, topic, msgs, conf=None):
    """msgs: list of (key, value, partition or None, timestamp or None).
    Returns [(partition, offset)] per message from delivery reports."""
    from confluent_kafka import Producer
    c = {"bootstrap.servers": bootstrap, "linger.ms": 5}
    c.update(conf or {})
    p = Producer(c)
    res = [None] * len(msgs)
    errors = []

    def dr(i):
        def cb(err, m):
            if err is not None:
                errors.append((i, err))
            else:
                res[i] = (m.partition(), m.offset())
        return cb

    for i, (k, v, part, ts) in enumerate(msgs):
        kw = {"key": k, "value": v, "on_delivery": dr(i)}
        if part is not None:
            kw["partition"] = part
        if ts is not None:
            kw["timestamp"] = ts
        while True:
            try:
                p.produce(topic, **kw)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    left = p.flush(60)
    assert left == 0, "%d messages still queued after flush" % left
    assert not errors, "delivery errors: %r" % errors[:5]
    assert all(r is not None for r in res), "missing delivery reports"
    return res


def consume_all(bootstrap, topic, parts, expect, conf=None, timeout=120):
    """Assign every partition from the beginning and read until expect
    messages arrived; returns {partition: [(offset, key, value)]}."""
    from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaError,
                                 TopicPartition)
    c = {"bootstrap.servers": bootstrap, "group.id": "moldau-test-" + topic,
         "enable.auto.commit": False, "enable.partition.eof": False}
    c.update(conf or {})
    cons = Consumer(c)
    cons.assign([TopicPartition(topic, p, OFFSET_BEGINNING)
                 for p in range(parts)])
    out = {p: [] for p in range(parts)}
    n = 0
    deadline = time.monotonic() + timeout
    try:
        while n < expect:
            assert time.monotonic() < deadline, \
                "consumed %d of %d from %s in %ds" % (n, expect, topic,
                                                      timeout)
            for m in cons.consume(num_messages=10000, timeout=0.5):
                err = m.error()
                if err is not None:
                    assert err.code() == KafkaError._PARTITION_EOF, \
                        "consume error: %s" % err
                    continue
                out[m.partition()].append((m.offset(), m.key(), m.value()))
                n += 1
        # Nothing beyond what was produced.
        extra = cons.consume(num_messages=10, timeout=1.0)
        extra = [m for m in extra if m.error() is None]
        assert not extra, "read %d messages beyond the %d produced" % (
            len(extra), expect)
    finally:
        cons.close()
    return out


def check_big(bootstrap):
    half = N // 2
    msgs = [(b"key-%d" % (i % 1000), b"seq=%d;" % i + b"v" * (i % 50), None,
             None) for i in range(N)]
    t0 = time.monotonic()
    dr = produce(bootstrap, TOPIC, msgs[:half], {"acks": "all"})
    dr += produce(bootstrap, TOPIC, msgs[half:], {"acks": "1"})
    harness.log("produced %d messages in %.1fs" % (N, time.monotonic() - t0))
    per_part = {}
    for i, (p, o) in enumerate(dr):
        per_part.setdefault(p, []).append((o, i))
    assert sorted(per_part) == list(range(PARTS)), \
        "keys landed on partitions %r" % sorted(per_part)
    for p, lst in per_part.items():
        offs = [o for o, _ in lst]
        assert offs == list(range(len(offs))), \
            "partition %d: acknowledged offsets are not 0..%d" % (
                p, len(offs) - 1)

    t0 = time.monotonic()
    got = consume_all(bootstrap, TOPIC, PARTS, N)
    harness.log("consumed %d messages in %.1fs" % (N, time.monotonic() - t0))
    seen = set()
    for p in range(PARTS):
        want = per_part[p]
        have = got[p]
        assert len(have) == len(want), "partition %d: read %d, wrote %d" % (
            p, len(have), len(want))
        last = -1
        for (o, k, v), (wo, i) in zip(have, want):
            seq = int(v.split(b";")[0][4:])
            assert seq not in seen, "seq %d read twice" % seq
            seen.add(seq)
            assert seq > last, "partition %d: seq %d after %d" % (p, seq,
                                                                  last)
            last = seq
            assert (o, seq) == (wo, i), \
                "partition %d offset %d holds seq %d, acknowledged seq %d " \
                "at offset %d" % (p, o, seq, i, wo)
            assert (k, v) == msgs[i][:2], "seq %d: key/value differ" % i
    assert len(seen) == N, "read %d distinct messages of %d" % (len(seen), N)

    # ListOffsets: earliest and latest.
    from confluent_kafka import Consumer, TopicPartition
    cons = Consumer({"bootstrap.servers": bootstrap,
                     "group.id": "moldau-test-wm"})
    try:
        for p in range(PARTS):
            lo, hi = cons.get_watermark_offsets(TopicPartition(TOPIC, p),
                                                timeout=15, cached=False)
            assert (lo, hi) == (0, len(per_part[p])), \
                "partition %d watermarks %r, want (0, %d)" % (
                    p, (lo, hi), len(per_part[p]))
    finally:
        cons.close()


def check_times(bootstrap):
    """offsets_for_times: first offset whose timestamp >= the target."""
    from confluent_kafka import Consumer, TopicPartition
    topic = "cf-times"
    t0 = int(time.time() * 1000) - 3600 * 1000
    count = 100
    msgs = [(None, b"t%d" % i, 0, t0 + i * 1000) for i in range(count)]
    # Ten producer runs of ten messages: several batches, several records
    # per batch.
    for j in range(0, count, 10):
        dr = produce(bootstrap, topic, msgs[j:j + 10])
        assert [o for _, o in dr] == list(range(j, j + 10)), \
            "offsets %r" % dr
    cons = Consumer({"bootstrap.servers": bootstrap,
                     "group.id": "moldau-test-times"})
    try:
        cases = [(t0 - 5000, 0), (t0, 0), (t0 + 1, 1), (t0 + 10 * 1000, 10),
                 (t0 + 55 * 1000, 55), (t0 + 54 * 1000 + 500, 55),
                 (t0 + 99 * 1000, 99), (t0 + 100 * 1000, -1)]
        for ts, want in cases:
            r = cons.offsets_for_times([TopicPartition(topic, 0, ts)],
                                       timeout=15)
            assert len(r) == 1 and r[0].error is None, "%r" % r
            assert r[0].offset == want, \
                "offsets_for_times(t0%+d ms) = %d, want %d" % (
                    ts - t0, r[0].offset, want)
    finally:
        cons.close()
    harness.log("offsets_for_times: %d look-ups OK" % len(cases))


def check_codecs(bootstrap):
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"]:
        topic = "cf-codec-" + codec
        msgs = [(b"k%d" % (i % 7), (b"%s %d " % (codec.encode(), i)) * 20,
                 0, None) for i in range(2000)]
        dr = produce(bootstrap, topic, msgs, {"compression.type": codec,
                                              "linger.ms": 20})
        got = consume_all(bootstrap, topic, 1, len(msgs))[0]
        assert [o for o, _, _ in got] == [o for _, o in dr], \
            "%s: offsets differ" % codec
        assert [(k, v) for _, k, v in got] == [m[:2] for m in msgs], \
            "%s: content differs" % codec
        harness.log("compression %s: %d messages OK" % (codec, len(msgs)))


def test():
    with Broker(sets=["broker.num.partitions=1",
                      "broker.auto.create.topics.enable=true"]) as b:
        create_topics(b.bootstrap, [(TOPIC, PARTS), ("cf-times", 1)] +
                      [("cf-codec-" + c, 1) for c in
                       ["none", "gzip", "snappy", "lz4", "zstd"]])
        check_big(b.bootstrap)
        check_times(b.bootstrap)
        check_codecs(b.bootstrap)


if __name__ == "__main__":
    harness.run(test)

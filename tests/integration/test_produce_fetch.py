"""Produce and Fetch semantics beyond the round trips: acks=0,
LogAppendTime (topic config) vs CreateTime, num.partitions for
auto-created topics and auto.create.topics.enable=false, a waiting Fetch
answered as soon as data arrives, fetch.min.bytes answered at max wait,
per-partition and response byte limits (the first batch is returned whole),
and DeleteTopics removing the partition directories."""

import os
import struct
import threading
import time

import harness
from harness import Broker
from test_groups_errors import Conn


_admins = {}


def admin(bootstrap):
    """One AdminClient per broker, kept alive: a collected client never
    completes its futures."""
    from confluent_kafka.admin import AdminClient
    if bootstrap not in _admins:
        _admins[bootstrap] = AdminClient({"bootstrap.servers": bootstrap})
    return _admins[bootstrap]


def create(bootstrap, name, parts=1, config=None):
    from confluent_kafka.admin import NewTopic
    fs = admin(bootstrap).create_topics([NewTopic(
        name, parts, 1, config=config or {})])
    for f in fs.values():
        assert f.result(timeout=30) is None


def producer(bootstrap, **conf):
    from confluent_kafka import Producer
    c = {"bootstrap.servers": bootstrap, "linger.ms": 0}
    c.update(conf)
    return Producer(c)


def consume(bootstrap, topic, n, partition=0, timeout=30):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "pf",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, partition, 0)])
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n:
        assert time.monotonic() < deadline, "read %d of %d" % (len(out), n)
        for m in c.consume(n - len(out), 0.2):
            if not m.error():
                out.append(m)
    c.close()
    return out


def check_auto_create(b):
    harness.kcat(["-L", "-b", b.bootstrap, "-t", "auto-three"])
    md = admin(b.bootstrap).list_topics("auto-three", timeout=10)
    assert sorted(md.topics["auto-three"].partitions) == [0, 1, 2], \
        md.topics["auto-three"].partitions


def check_acks0(b):
    create(b.bootstrap, "acks0")
    p = producer(b.bootstrap, acks=0)
    for i in range(1000):
        p.produce("acks0", value=b"%d" % i)
    assert p.flush(30) == 0
    got = [int(m.value()) for m in consume(b.bootstrap, "acks0", 1000)]
    assert got == list(range(1000)), "acks=0 read back %d" % len(got)


def check_timestamps(b):
    from confluent_kafka import TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME
    create(b.bootstrap, "ts-append",
           config={"message.timestamp.type": "LogAppendTime"})
    create(b.bootstrap, "ts-create")
    p = producer(b.bootstrap)
    for t in ("ts-append", "ts-create"):
        p.produce(t, value=b"x", timestamp=1000)
    assert p.flush(30) == 0
    (m,) = consume(b.bootstrap, "ts-append", 1)
    typ, ts = m.timestamp()
    assert typ == TIMESTAMP_LOG_APPEND_TIME, m.timestamp()
    assert abs(ts / 1000.0 - time.time()) < 120, m.timestamp()
    (m,) = consume(b.bootstrap, "ts-create", 1)
    assert m.timestamp() == (TIMESTAMP_CREATE_TIME, 1000), m.timestamp()


def check_wakeup(b):
    """A Fetch waiting up to 10 s is answered as soon as a record lands."""
    from confluent_kafka import Consumer, TopicPartition
    create(b.bootstrap, "wake")
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "wake",
                  "fetch.wait.max.ms": 10000, "fetch.min.bytes": 1})
    c.assign([TopicPartition("wake", 0, 0)])
    c.poll(1.0)  # let the first, empty fetch go out and park
    got = {}

    def run():
        deadline = time.monotonic() + 30
        while "t" not in got and time.monotonic() < deadline:
            m = c.poll(0.05)
            if m is not None and not m.error():
                got["t"] = time.monotonic()

    th = threading.Thread(target=run)
    th.start()
    time.sleep(1.5)  # the consumer's fetch is parked at the broker now
    p = producer(b.bootstrap)
    t0 = time.monotonic()
    p.produce("wake", value=b"now")
    assert p.flush(30) == 0
    th.join(40)
    c.close()
    assert "t" in got, "the waiting consumer never got the record"
    delay = got["t"] - t0
    harness.log("waiting fetch answered %.3f s after the produce" % delay)
    # far below the 10 s the fetch may wait: it was woken by the append
    # (the margin covers sanitizer builds on a loaded 2-core machine)
    assert delay < 3.0, "waiting fetch answered after %.2f s" % delay


def batches(records):
    """(base_offset, size) of each record batch in a records blob."""
    out, i = [], 0
    while i + 12 <= len(records):
        base, length = struct.unpack_from(">qi", records, i)
        out.append((base, length + 12))
        i += length + 12
    return out


def fetch(conn, topic, parts, max_bytes, part_max, min_bytes=1,
          max_wait=0):
    from kafka.protocol.fetch import FetchRequest
    req = FetchRequest[4](-1, max_wait, min_bytes, max_bytes, 0,
                          [(topic, [(p, 0, part_max) for p in parts])])
    t0 = time.monotonic()
    r = conn.call(req, timeout=30)
    took = time.monotonic() - t0
    res = {}
    for t, ps in r.topics:
        for (p, err, hw, lso, aborted, recs) in ps:
            assert err == 0, (p, err)
            res[p] = batches(recs or b"")
    return res, took


def check_limits(b):
    create(b.bootstrap, "limits", parts=2)
    p = producer(b.bootstrap)
    for i in range(10):
        for part in (0, 1):
            p.produce("limits", value=b"v" * 1000, partition=part)
        assert p.flush(30) == 0  # one batch per flush
    conn = Conn(b.bootstrap)
    res, _ = fetch(conn, "limits", [0, 1], max_bytes=1, part_max=1)
    assert len(res[0]) == 1, "first batch not returned whole: %r" % res
    assert res[1] == [], "response limit ignored: %r" % res
    res, _ = fetch(conn, "limits", [0, 1], max_bytes=1 << 20,
                   part_max=2500)
    for part in (0, 1):
        total = sum(s for _, s in res[part])
        assert 1 <= len(res[part]) and total <= 2500, (part, res[part])
    res, _ = fetch(conn, "limits", [0, 1], max_bytes=1 << 20,
                   part_max=1 << 20)
    assert [o for o, _ in res[0]] == list(range(10)), res[0]
    # fetch.min.bytes larger than what there is: answered at max wait
    res, took = fetch(conn, "limits", [0], max_bytes=1 << 20,
                      part_max=1 << 20, min_bytes=10 << 20, max_wait=400)
    assert len(res[0]) == 10 and 0.3 <= took < 5, (len(res[0]), took)
    conn.close()


def check_delete(b):
    a = admin(b.bootstrap)
    assert a.delete_topics(["acks0"])["acks0"].result(timeout=30) is None
    md = a.list_topics(timeout=10)
    assert "acks0" not in md.topics
    assert not os.path.exists(os.path.join(b.data_dir, "acks0-0")), \
        os.listdir(b.data_dir)


def check_no_auto_create():
    with Broker(sets=["broker.auto.create.topics.enable=false"]) as b:
        md = admin(b.bootstrap).list_topics("nope", timeout=10)
        err = md.topics["nope"].error
        assert err is not None and err.code() == 3, err  # UNKNOWN_TOPIC
        harness.kcat(["-L", "-b", b.bootstrap, "-t", "nope"],
                          check=False)
        md = admin(b.bootstrap).list_topics(timeout=10)
        assert "nope" not in md.topics, md.topics


def main():
    with Broker(sets=["broker.num.partitions=3"]) as b:
        check_auto_create(b)
        check_acks0(b)
        check_timestamps(b)
        check_wakeup(b)
        check_limits(b)
        check_delete(b)
    check_no_auto_create()


if __name__ == "__main__":
    harness.run(main, timeout=240)

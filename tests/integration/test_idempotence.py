"""Idempotent producers: InitProducerId, sequence checks, deduplication.

- InitProducerId (no transactional id) hands out distinct producer ids from
  the block the controller allocated (AllocateProducerIds); after a restart
  the ids go on past the old block (the controller keeps the next id in
  its metadata log);
- hand-built Produce requests: a retried batch is answered with the offset
  it was first written at and not written again; a gap in the sequence is
  OUT_OF_ORDER_SEQUENCE_NUMBER; a new epoch must start at sequence 0; an
  older epoch is INVALID_PRODUCER_EPOCH; two batches in one partition of an
  idempotent request are INVALID_RECORD;
- the state comes back after a clean and after an unclean restart (rebuilt
  from the log): a retry is still answered with its first offset;
- confluent-kafka with enable.idempotence=True and kcat with
  enable.idempotence=true write every message exactly once.
"""

import struct
import subprocess
import time

import harness
from harness import Broker
from test_bad_input import (API_PRODUCE, Reader, connect, frame, header_v1,
                            parse_produce_v7, produce_v7, record_batch,
                            recv_frame, string)
from test_confluent import consume_all, create_topics, produce

API_INIT_PRODUCER_ID = 22
OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_PRODUCER_EPOCH = 47
INVALID_RECORD = 87


class Conn:
    def __init__(self, b):
        self.s = connect(b)
        self.corr = 0

    def call(self, req):
        self.s.sendall(req)
        resp = recv_frame(self.s)
        assert resp is not None, "broker closed the connection"
        return resp

    def init_pid(self):
        self.corr += 1
        body = string(None) + struct.pack(">i", 60000)
        r = Reader(self.call(frame(header_v1(API_INIT_PRODUCER_ID, 0,
                                             self.corr) + body)))
        assert r.unpack("i") == self.corr
        _throttle, err, pid, epoch = r.unpack("ihqh")
        r.done()
        assert err == 0, "InitProducerId: error %d" % err
        assert pid >= 0 and epoch == 0, (pid, epoch)
        return pid

    def produce(self, topic, batch, acks=-1):
        self.corr += 1
        idx, err, base = parse_produce_v7(
            self.call(produce_v7(self.corr, topic, 0, batch, acks=acks)),
            self.corr, topic)
        assert idx == 0
        return err, base

    def close(self):
        self.s.close()


def batch(pid, epoch, seq, n, tag):
    return record_batch([(b"k", b"%s-%d" % (tag, i), ()) for i in range(n)],
                        int(time.time() * 1000), (pid, epoch, seq))


def high(b, topic):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "hw"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0),
                                       timeout=10)[1]
    finally:
        c.close()


def check_sequences(b):
    create_topics(b.bootstrap, [("idem", 1)])
    c = Conn(b)
    pids = [c.init_pid() for _ in range(3)]
    assert len(set(pids)) == 3, "producer ids repeat: %r" % pids
    pid = pids[0]
    first = batch(pid, 0, 0, 3, b"a")
    assert c.produce("idem", first) == (0, 0)
    assert c.produce("idem", first) == (0, 0), "retry not deduplicated"
    assert c.produce("idem", batch(pid, 0, 3, 2, b"b")) == (0, 3)
    err, _ = c.produce("idem", batch(pid, 0, 10, 1, b"gap"))
    assert err == OUT_OF_ORDER_SEQUENCE_NUMBER, err
    # an older batch still among the last five
    assert c.produce("idem", first) == (0, 0)
    err, _ = c.produce("idem", batch(pid, 1, 5, 1, b"e1"))
    assert err == OUT_OF_ORDER_SEQUENCE_NUMBER, \
        "a new epoch must start at sequence 0 (got %d)" % err
    assert c.produce("idem", batch(pid, 1, 0, 2, b"e1")) == (0, 5)
    err, _ = c.produce("idem", batch(pid, 0, 5, 1, b"old"))
    assert err == INVALID_PRODUCER_EPOCH, err
    # another producer writes on, independent of the first
    assert c.produce("idem", batch(pids[1], 0, 0, 1, b"p2")) == (0, 7)
    # two batches of one idempotent producer in one request
    two = batch(pids[2], 0, 0, 1, b"x") + batch(pids[2], 0, 1, 1, b"y")
    err, _ = c.produce("idem", two)
    assert err == INVALID_RECORD, err
    c.close()
    assert high(b, "idem") == 8, "log end %d, want 8" % high(b, "idem")
    return pids


def check_restarts(b, pids):
    pid = pids[0]
    for kill in (False, True):
        b.restart(kill=kill)
        c = Conn(b)
        assert c.produce("idem", batch(pid, 1, 0, 2, b"e1")) == (0, 5), \
            "retry after %s restart not deduplicated" % (
                "an unclean" if kill else "a clean")
        assert c.produce("idem", batch(pids[1], 0, 0, 1, b"p2")) == (0, 7)
        new = c.init_pid()
        assert new > max(pids), \
            "producer id %d after restart, earlier ones %r" % (new, pids)
        pids.append(new)
        c.close()
        assert high(b, "idem") == 8
    c = Conn(b)
    assert c.produce("idem", batch(pid, 1, 2, 1, b"e1-next")) == (0, 8)
    c.close()
    got = consume_all(b.bootstrap, "idem", 1, 9)[0]
    assert [v for _, _, v in got] == [
        b"a-0", b"a-1", b"a-2", b"b-0", b"b-1", b"e1-0", b"e1-1", b"p2-0",
        b"e1-next-0"], got
    harness.log("idempotence: sequences, epochs and restarts checked; "
                "producer ids %r" % pids)


def check_clients(b):
    n, parts = 20000, 4
    create_topics(b.bootstrap, [("idem-clients", parts)])
    msgs = [(b"%d" % i, b"v%d" % i, i % parts, None) for i in range(n)]
    res = produce(b.bootstrap, "idem-clients", msgs,
                  {"enable.idempotence": True, "linger.ms": 5})
    assert None not in res, "undelivered messages"
    got = consume_all(b.bootstrap, "idem-clients", parts, n)
    values = sorted(v for p in got.values() for _, _, v in p)
    assert values == sorted(b"v%d" % i for i in range(n)), \
        "%d values read back for %d produced" % (len(values), n)
    for p, recs in got.items():
        assert [o for o, _, _ in recs] == list(range(len(recs))), p
    lines = "".join("kc%d\n" % i for i in range(1000))
    subprocess.run(["kcat", "-b", b.bootstrap, "-P", "-t", "idem-kcat",
                    "-X", "enable.idempotence=true"],
                   input=lines.encode(), check=True, timeout=60)
    out = subprocess.run(["kcat", "-b", b.bootstrap, "-C", "-t",
                          "idem-kcat", "-e", "-o", "beginning", "-q"],
                         capture_output=True, check=True, timeout=60).stdout
    assert sorted(out.decode().split()) == sorted(lines.split()), \
        "kcat idempotent produce: %d lines back" % len(out.split())
    harness.log("idempotence: %d messages by confluent-kafka and 1000 by "
                "kcat, each read back once" % n)


def check_expiry():
    """producer.id.expiration.ms: a producer silent for that long (by its
    last batch's timestamp) is forgotten, so a retry of its batch is
    written again; before that it is deduplicated."""
    b = Broker(sets=["broker.producer.id.expiration.ms=1500",
                     "broker.producer.id.expiration.check.interval.ms=100"],
               name="idem-expiry").start()
    try:
        create_topics(b.bootstrap, [("expiry", 1)])
        c = Conn(b)
        pid = c.init_pid()
        first = batch(pid, 0, 0, 2, b"a")
        assert c.produce("expiry", first) == (0, 0)
        time.sleep(0.3)
        assert c.produce("expiry", first) == (0, 0), \
            "retry within producer.id.expiration.ms not deduplicated"
        # another producer keeps writing and so is remembered
        other = c.init_pid()
        t0 = time.time()
        seq = 0
        while time.time() - t0 < 2.5:
            assert c.produce("expiry", batch(other, 0, seq, 1, b"o"))[0] == 0
            seq += 1
            time.sleep(0.2)
        err, base = c.produce("expiry", first)
        assert (err, base) == (0, 2 + seq), \
            "expired producer's retry: %r, want written at %d" % (
                (err, base), 2 + seq)
        err, base = c.produce("expiry", batch(other, 0, seq - 1, 1, b"o"))
        assert (err, base) == (0, 2 + seq - 1), \
            "live producer's retry: %r, want deduplicated at %d" % (
                (err, base), 2 + seq - 1)
        c.close()
        harness.log("expiry: %d batches of a live producer remembered, "
                    "the silent one forgotten after 1.5 s" % seq)
    finally:
        b.stop()


def test():
    b = Broker(name="idem").start()
    try:
        pids = check_sequences(b)
        check_restarts(b, pids)
        check_clients(b)
    finally:
        b.stop()
    check_expiry()


if __name__ == "__main__":
    harness.run(test, timeout=300)

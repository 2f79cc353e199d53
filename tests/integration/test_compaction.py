"""Log compaction (cleanup.policy=compact), on each of gzip, snappy, lz4 and
zstd:

- 100,000 records over 1,000 keys, then tombstones for 100 of them, to a
  topic with small segments, min.cleanable.dirty.ratio=0.01,
  min.compaction.lag.ms=0 and a short delete.retention.ms;
- once the cleaner has run, a consumer from the beginning sees exactly the
  last value of each of the 900 live keys and nothing of the 100 deleted
  ones, every record at the offset its delivery report gave (gaps), and the
  log is smaller;
- a record without a key is refused with INVALID_RECORD;
- produce and fetch keep working while the cleaner runs, and the compacted
  log reads the same after a restart.
"""

import glob
import os
import random
import struct
import time

import harness
from harness import Broker
from test_log_storage import create_with, pdir

CODECS = ("gzip", "snappy", "lz4", "zstd")
NKEYS = 1000
NDEL = 100
NRECS = 100000
DELETE_RETENTION_MS = 1500


def log_bytes(b, topic):
    return sum(os.path.getsize(f)
               for f in glob.glob(os.path.join(pdir(b, topic), "*.log")))


CODEC_ID = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def batches(b, topic):
    """(base offset, codec, record count) of every batch in the log."""
    out = []
    for f in sorted(glob.glob(os.path.join(pdir(b, topic), "*.log"))):
        with open(f, "rb") as fh:
            data = fh.read()
        pos = 0
        while pos + 61 <= len(data):
            base, length = struct.unpack(">qi", data[pos:pos + 12])
            attr, = struct.unpack(">h", data[pos + 21:pos + 23])
            count, = struct.unpack(">i", data[pos + 57:pos + 61])
            out.append((base, attr & 7, count))
            pos += 12 + length
    return out


def produce_all(bootstrap, topics, rng):
    """Returns {topic: {value: offset}} and the expected final state
    {key: value} (the same for every topic)."""
    from confluent_kafka import Producer
    order = [i % NKEYS for i in range(NRECS)]
    rng.shuffle(order)
    msgs = [(b"key-%04d" % k, b"value-%04d-%06d" % (k, i))
            for i, k in enumerate(order)]
    final = {}
    for k, v in msgs:
        final[k] = v
    deleted = [b"key-%04d" % k for k in range(0, NKEYS, NKEYS // NDEL)]
    msgs += [(k, None) for k in deleted]
    for k in deleted:
        del final[k]
    offsets = {}
    for t, codec in topics:
        p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20,
                      "compression.type": codec, "acks": 1,
                      "batch.num.messages": 2000})
        got = {}
        errors = []

        def dr(err, m, got=got, errors=errors):
            if err is not None:
                errors.append(err)
            else:
                got[(m.key(), m.value())] = m.offset()

        for k, v in msgs:
            while True:
                try:
                    p.produce(t, key=k, value=v, partition=0,
                              on_delivery=dr)
                    break
                except BufferError:
                    p.poll(0.05)
        assert p.flush(60) == 0
        assert not errors, "%s: delivery errors %s" % (t, errors[:3])
        assert len(got) == len(msgs)
        offsets[t] = got
    return offsets, final, set(deleted)


def read_all(bootstrap, topic):
    """Everything in partition 0 from the beginning to the end:
    [(offset, key, value)]."""
    from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaError,
                                 TopicPartition)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "compact-read",
                  "enable.auto.commit": False,
                  "enable.partition.eof": True})
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    out = []
    deadline = time.monotonic() + 30
    try:
        while True:
            assert time.monotonic() < deadline, \
                "reading %s: stuck after %d records (last %s)" % (
                    topic, len(out), out[-1][0] if out else None)
            done = False
            for m in c.consume(num_messages=10000, timeout=0.5):
                err = m.error()
                if err is not None:
                    assert err.code() == KafkaError._PARTITION_EOF, err
                    done = True
                    break
                out.append((m.offset(), m.key(), m.value()))
            if done:
                return out
    finally:
        c.close()


def check_state(topic, recs, offsets, final, deleted):
    """None when recs is the compacted state, else why not."""
    seen = {}
    last = -1
    for off, k, v in recs:
        if off <= last:
            return "offsets not increasing at %d" % off
        last = off
        if offsets.get((k, v)) != off:
            return "record %r=%r at offset %d, produced at %s" % (
                k, v, off, offsets.get((k, v)))
        if k in deleted:
            return "deleted key %r still present at %d" % (k, off)
        if k in seen:
            return "key %r twice" % k
        seen[k] = v
    if seen != final:
        return "%d keys, %d expected" % (len(seen), len(final))
    return None


def check_keyless(bootstrap, topic):
    from confluent_kafka import KafkaError, Producer
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0,
                  "retries": 0})
    errs = []
    p.produce(topic, value=b"no key", partition=0,
              on_delivery=lambda err, m: errs.append(err))
    p.flush(15)
    assert len(errs) == 1 and errs[0] is not None, errs
    assert errs[0].code() == KafkaError.INVALID_RECORD, errs[0]


def test():
    rng = random.Random(1234)
    b = Broker(name="compact").start()
    try:
        topics = [("compact-%s" % c, c) for c in CODECS]
        for t, _ in topics:
            create_with(b.bootstrap, t, 1, {
                "cleanup.policy": "compact",
                "segment.bytes": "65536",
                "segment.ms": "1000",
                "min.cleanable.dirty.ratio": "0.01",
                "min.compaction.lag.ms": "0",
                "delete.retention.ms": str(DELETE_RETENTION_MS)})
        check_keyless(b.bootstrap, topics[0][0])
        t0 = time.monotonic()
        offsets, final, deleted = produce_all(b.bootstrap, topics, rng)
        harness.log("produced %d records x %d topics in %.1fs" %
                    (NRECS + NDEL, len(topics), time.monotonic() - t0))
        pending = dict(topics)
        deadline = time.monotonic() + 40
        while pending:
            for t in list(pending):
                why = check_state(t, read_all(b.bootstrap, t), offsets[t],
                                  final, deleted)
                if why is None:
                    harness.log("%s: compacted after %.1fs: %d bytes"
                                % (t, time.monotonic() - t0,
                                   log_bytes(b, t)))
                    del pending[t]
            if pending:
                assert time.monotonic() < deadline, \
                    "not compacted: %s (%s); last batches %s" % (
                        sorted(pending), why,
                        batches(b, sorted(pending)[0])[-6:])
                time.sleep(0.5)
        assert "cleaned" in b.stderr()
        for t, codec in topics:
            # 100,100 records of ~35 bytes in, 900 out.
            assert log_bytes(b, t) < 100000, (t, log_bytes(b, t))
            bs = batches(b, t)
            # Rewritten batches keep their codec; the log's last batch
            # stays behind without records (its records were tombstones).
            assert all(c == CODEC_ID[codec] for _, c, n in bs if n > 0), \
                (t, bs[:10])
            assert sum(n for _, _, n in bs) == NKEYS - NDEL, (t, bs[:10])
        # Produce and fetch still work; the log survives a restart as is.
        t = topics[0][0]
        b.restart()
        recs = read_all(b.bootstrap, t)
        assert check_state(t, recs, offsets[t], final, deleted) is None
    finally:
        b.stop()


if __name__ == "__main__":
    harness.run(test, timeout=120)

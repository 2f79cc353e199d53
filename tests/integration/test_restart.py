"""Data survives a restart: a clean stop (SIGTERM) and a crash (SIGKILL),
each followed by a start on the same data dir and port; then a producer
writes continuously (acks=1) while the broker is killed with SIGKILL five
times at random moments, and every acknowledged record is read back in
order, without duplicates, with no gap but unacknowledged records."""

import random
import threading

import harness
from harness import Broker
from test_confluent import consume_all, create_topics, produce

TOPIC = "restart"
PARTS = 2


def check_log(bootstrap, want, what):
    """want: {partition: [(offset, key, value)]} must be exactly what a
    consumer reads from the beginning."""
    total = sum(len(v) for v in want.values())
    got = consume_all(bootstrap, TOPIC, PARTS, total)
    for p in range(PARTS):
        assert len(got[p]) == len(want[p]), \
            "%s: partition %d has %d messages, want %d" % (
                what, p, len(got[p]), len(want[p]))
        for g, w in zip(got[p], want[p]):
            assert g == w, "%s: partition %d: read %r, want %r" % (
                what, p, g, w)
    harness.log("%s: %d messages read back" % (what, total))


def add(want, msgs, dr):
    for (k, v, _, _), (p, o) in zip(msgs, dr):
        want.setdefault(p, []).append((o, k, v))


def batch(first, n):
    return [(b"k%d" % (i % 10), b"value %d" % i, None, None)
            for i in range(first, first + n)]


class Writer(threading.Thread):
    """Produces value b"seq=N" continuously to partition 0 of topic with
    acks=1 and no retries (a retry after a crash could duplicate a record
    that was written but not acknowledged)."""

    def __init__(self, bootstrap, topic):
        threading.Thread.__init__(self, daemon=True)
        from confluent_kafka import Producer
        self.topic = topic
        self.p = Producer({"bootstrap.servers": bootstrap, "acks": "1",
                           "linger.ms": 2, "retries": 0,
                           "message.timeout.ms": 10000,
                           "reconnect.backoff.ms": 10,
                           "reconnect.backoff.max.ms": 100})
        self.acked = {}
        self.failed = set()
        self.sent = 0
        self.stop = False
        self.left = None
        self.lock = threading.Lock()

    def _dr(self, err, m):
        seq = int(m.value()[4:])
        with self.lock:
            if err is None:
                self.acked[seq] = m.offset()
            else:
                self.failed.add(seq)

    def nacked(self):
        with self.lock:
            return len(self.acked)

    def run(self):
        while not self.stop:
            if len(self.p) > 5000:
                self.p.poll(0.01)
                continue
            try:
                self.p.produce(self.topic, b"seq=%d" % self.sent,
                               partition=0, on_delivery=self._dr)
                self.sent += 1
            except BufferError:
                self.p.poll(0.01)
            self.p.poll(0)
        self.left = self.p.flush(30)


def read_to_end(bootstrap, topic, timeout=120):
    """Every record of partition 0 up to the high watermark, as
    [(offset, key, value)]."""
    import time
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    cons = Consumer({"bootstrap.servers": bootstrap,
                     "group.id": "moldau-test-end", "enable.auto.commit":
                     False})
    out = []
    try:
        lo, hi = cons.get_watermark_offsets(TopicPartition(topic, 0),
                                            timeout=15, cached=False)
        assert lo == 0, "log start offset %d" % lo
        cons.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + timeout
        while (out[-1][0] if out else -1) < hi - 1:
            assert time.monotonic() < deadline, \
                "read %d records of %d in %ds" % (len(out), hi, timeout)
            for m in cons.consume(num_messages=10000, timeout=0.5):
                assert m.error() is None, "consume: %s" % m.error()
                out.append((m.offset(), m.key(), m.value()))
    finally:
        cons.close()
    return out


def crash_loop(b, kills=5):
    topic = "crash"
    create_topics(b.bootstrap, [(topic, 1)])
    w = Writer(b.bootstrap, topic)
    w.start()
    rnd = random.Random()
    seed = rnd.randrange(1 << 30)
    rnd.seed(seed)
    harness.log("crash loop: seed %d" % seed)
    for k in range(kills):
        target = w.nacked() + rnd.randrange(200, 20000)
        harness.wait_for(lambda: w.nacked() >= target or not w.is_alive(),
                         60, "%d acknowledged records" % target)
        assert w.is_alive(), "writer thread died"
        rc = b.restart(kill=True)
        assert rc == -9, "SIGKILL status %r" % rc
        harness.log("kill %d at %d acknowledged, %d sent" % (
            k + 1, w.nacked(), w.sent))
    # Some more after the last restart, then stop.
    target = w.nacked() + 1000
    harness.wait_for(lambda: w.nacked() >= target, 60,
                     "records after the last restart")
    w.stop = True
    w.join(60)
    assert not w.is_alive(), "writer did not finish"
    assert w.left == 0, "writer: %r messages never resolved" % w.left
    acked, failed = w.acked, w.failed
    assert len(acked) + len(failed) == w.sent, \
        "%d sent, %d acked, %d failed" % (w.sent, len(acked), len(failed))

    log = read_to_end(b.bootstrap, topic)
    offsets = [o for o, _, _ in log]
    seqs = [int(v[4:]) for _, _, v in log]
    assert offsets == list(range(len(log))), "offsets have gaps"
    assert len(set(seqs)) == len(seqs), "duplicate records in the log"
    assert seqs == sorted(seqs), "records out of order"
    at = dict(zip(seqs, offsets))
    lost = [s for s in acked if s not in at]
    assert not lost, "%d acknowledged records lost (seed %d), first %r" % (
        len(lost), seed, sorted(lost)[:10])
    moved = [s for s, o in acked.items() if at[s] != o]
    assert not moved, "%d records not at their acknowledged offset, " \
        "first seq %d" % (len(moved), moved[0])
    stray = [s for s in seqs if s not in acked and s not in failed]
    assert not stray, "records never produced: %r" % stray[:10]
    harness.log("crash loop: %d kills, %d acked, %d failed (%d of those "
                "in the log), log of %d records intact" % (
                    kills, len(acked), len(failed),
                    len([s for s in seqs if s in failed]), len(log)))


def test():
    b = Broker(sets=["broker.auto.create.topics.enable=true"])
    with b:
        create_topics(b.bootstrap, [(TOPIC, PARTS)])
        want = {p: [] for p in range(PARTS)}
        msgs = batch(0, 5000)
        add(want, msgs, produce(b.bootstrap, TOPIC, msgs, {"acks": "all"}))
        check_log(b.bootstrap, want, "before restart")
        port = b.port

        rc = b.restart()
        assert rc == 0, "SIGTERM: exit status %r\n%s" % (rc, b.stderr_tail())
        assert b.port == port
        check_log(b.bootstrap, want, "after SIGTERM restart")
        lines = harness.kcat(["-L", "-J", "-b", b.bootstrap, "-t", TOPIC])
        assert b'"partition":1' in lines.stdout.replace(b" ", b""), \
            "topic lost its partitions: %r" % lines.stdout

        # Appends continue at the old end.
        msgs = batch(5000, 1000)
        dr = produce(b.bootstrap, TOPIC, msgs, {"acks": "all"})
        for p in range(PARTS):
            offs = [o for (q, o) in dr if q == p]
            if offs:
                assert offs[0] == len(want[p]), \
                    "partition %d continued at %d after restart, end was " \
                    "%d" % (p, offs[0], len(want[p]))
        add(want, msgs, dr)

        # Crash: everything acknowledged (acks=1) must be there afterwards.
        msgs = batch(6000, 3000)
        add(want, msgs, produce(b.bootstrap, TOPIC, msgs, {"acks": "1"}))
        rc = b.restart(kill=True)
        assert rc == -9, "SIGKILL status %r" % rc
        check_log(b.bootstrap, want, "after SIGKILL restart")

        # And a second clean restart after the crash recovery.
        rc = b.restart()
        assert rc == 0, "SIGTERM: exit status %r\n%s" % (rc, b.stderr_tail())
        check_log(b.bootstrap, want, "after second SIGTERM restart")

        crash_loop(b)


if __name__ == "__main__":
    harness.run(test)

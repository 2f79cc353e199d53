"""Consumer groups with confluent-kafka (librdkafka): two consumers of one
group share a 4-partition topic (eager range and cooperative-sticky), every
message is consumed exactly once by the group; a closed consumer's and a
killed consumer's partitions move to the survivor; committed offsets
survive a broker restart; two groups each read everything."""

import os
import subprocess
import sys
import time

import harness
from harness import Broker

N = 40000
PARTS = 4
SESSION_MS = 6000


def create_topic(bootstrap, topic, parts):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    fs = admin.create_topics([NewTopic(topic, num_partitions=parts,
                                       replication_factor=1)])
    for f in fs.values():
        assert f.result(timeout=30) is None


def produce(bootstrap, topic, n, start=0):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(start, start + n):
        while True:
            try:
                p.produce(topic, key=b"k%d" % i, value=b"%d" % i)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    assert p.flush(30) == 0, "messages left unflushed"


def consumer(bootstrap, group, extra=None):
    from confluent_kafka import Consumer
    conf = {"bootstrap.servers": bootstrap, "group.id": group,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": SESSION_MS,
            "heartbeat.interval.ms": 500,
            "enable.auto.commit": True, "auto.commit.interval.ms": 200}
    conf.update(extra or {})
    return Consumer(conf)


def assigned(c):
    return sorted(tp.partition for tp in c.assignment())


def drain(consumers, want, seen, deadline_s=120):
    """Poll every consumer until `want` distinct values were seen."""
    deadline = time.monotonic() + deadline_s
    dup = 0
    while len(seen) < want:
        assert time.monotonic() < deadline, \
            "consumed %d of %d before the deadline" % (len(seen), want)
        for c in consumers:
            for m in c.consume(500, 0.05):
                if m.error():
                    continue
                v = int(m.value())
                if v in seen:
                    dup += 1
                seen.add(v)
    return dup


def wait_assignment(consumers, want_each=None, deadline_s=60, seen=None):
    """Poll until the consumers' assignments are disjoint and cover every
    partition; returns them.  Messages polled meanwhile go into seen."""
    deadline = time.monotonic() + deadline_s
    while True:
        for c in consumers:
            m = c.poll(0.05)
            if m is not None and not m.error() and seen is not None:
                seen.add(int(m.value()))
        a = [assigned(c) for c in consumers]
        flat = sorted(p for x in a for p in x)
        if flat == list(range(PARTS)) and (
                want_each is None or all(len(x) == want_each for x in a)):
            return a
        assert time.monotonic() < deadline, "assignments never settled: %r" % a


def two_consumers_share(b, topic, group, extra=None):
    c1 = consumer(b.bootstrap, group, extra)
    c2 = consumer(b.bootstrap, group, extra)
    c1.subscribe([topic])
    c2.subscribe([topic])
    seen = set()
    a = wait_assignment([c1, c2], want_each=2, seen=seen)
    assert set(a[0]).isdisjoint(a[1]), "overlapping assignments %r" % a
    dup = drain([c1, c2], N, seen)
    assert seen == set(range(N)), "missing %d values" % (N - len(seen))
    assert dup == 0, "%d messages consumed twice" % dup
    return c1, c2


def test_close_moves_partitions(b, topic):
    c1, c2 = two_consumers_share(b, topic, "g-close")
    t0 = time.monotonic()
    c2.close()
    a = wait_assignment([c1], deadline_s=30)
    harness.log("survivor got %r %.1fs after close" %
                (a, time.monotonic() - t0))
    assert a == [list(range(PARTS))]
    c1.close()


KILLED_CONSUMER = r'''
import sys, time
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2],
              "auto.offset.reset": "earliest", "session.timeout.ms": %d,
              "heartbeat.interval.ms": 500})
c.subscribe([sys.argv[3]])
while True:
    c.poll(0.1)
    if c.assignment():
        print("assigned", flush=True)
''' % SESSION_MS


def test_kill_moves_partitions(b, topic):
    group = "g-kill"
    p = subprocess.Popen([sys.executable, "-c", KILLED_CONSUMER, b.bootstrap,
                          group, topic], stdout=subprocess.PIPE)
    harness._live_procs.append(p)
    c1 = consumer(b.bootstrap, group)
    c1.subscribe([topic])
    deadline = time.monotonic() + 60
    while len(assigned(c1)) != PARTS // 2:
        c1.poll(0.1)
        assert time.monotonic() < deadline, "never split with the child: %r" \
            % assigned(c1)
    p.kill()
    p.wait()
    t0 = time.monotonic()
    a = wait_assignment([c1], deadline_s=SESSION_MS / 1000 + 30)
    took = time.monotonic() - t0
    harness.log("survivor got all partitions %.1fs after SIGKILL" % took)
    assert a == [list(range(PARTS))]
    assert took >= SESSION_MS / 1000 - 1.5, \
        "rebalanced after %.1fs, before the session timeout" % took
    c1.close()


def test_commit_restart_resume(b, topic):
    from confluent_kafka import TopicPartition
    group = "g-resume"
    c = consumer(b.bootstrap, group, {"enable.auto.commit": False})
    c.subscribe([topic])
    got = 0
    deadline = time.monotonic() + 60
    while got < 1000:
        assert time.monotonic() < deadline
        for m in c.consume(100, 0.1):
            if not m.error():
                got += 1
    c.commit(asynchronous=False)
    committed = {tp.partition: tp.offset for tp in c.committed(
        [TopicPartition(topic, p) for p in range(PARTS)], timeout=10)}
    c.close()
    assert sum(o for o in committed.values() if o > 0) >= 1000, committed
    b.restart()
    c = consumer(b.bootstrap, group, {"enable.auto.commit": False})
    after = {tp.partition: tp.offset for tp in c.committed(
        [TopicPartition(topic, p) for p in range(PARTS)], timeout=10)}
    assert after == committed, "offsets after restart %r != %r" % (
        after, committed)
    c.subscribe([topic])
    firsts = {}
    deadline = time.monotonic() + 60
    while len(firsts) < PARTS:
        assert time.monotonic() < deadline, "no data on %r" % firsts
        for m in c.consume(100, 0.1):
            if not m.error() and m.partition() not in firsts:
                firsts[m.partition()] = m.offset()
    for p, off in firsts.items():
        want = committed[p] if committed[p] >= 0 else 0
        assert off == want, "partition %d resumed at %d, committed %d" % (
            p, off, want)
    c.close()


def test_two_groups(b, topic):
    for g in ("g-one", "g-two"):
        c = consumer(b.bootstrap, g)
        c.subscribe([topic])
        seen = set()
        drain([c], N, seen)
        assert seen == set(range(N))
        c.close()


def main():
    with Broker(sets=["broker.group.initial.rebalance.delay.ms=0",
                      "broker.offsets.topic.num.partitions=8"]) as b:
        for topic in ("grp-eager", "grp-coop"):
            create_topic(b.bootstrap, topic, PARTS)
            produce(b.bootstrap, topic, N)
        c1, c2 = two_consumers_share(b, "grp-eager", "g-eager")
        c1.close()
        c2.close()
        c1, c2 = two_consumers_share(
            b, "grp-coop", "g-coop",
            {"partition.assignment.strategy": "cooperative-sticky"})
        c1.close()
        c2.close()
        test_close_moves_partitions(b, "grp-eager")
        test_kill_moves_partitions(b, "grp-eager")
        test_two_groups(b, "grp-eager")
        test_commit_restart_resume(b, "grp-eager")


if __name__ == "__main__":
    harness.run(main, timeout=400)

"""Consumer groups with kafka-python consumers and with two `kcat -G`
processes: the group's members split a 4-partition topic and together
read every message exactly once."""

import os
import subprocess
import time

import harness
from harness import Broker

N = 40000
PARTS = 4
TOPIC = "grp-clients"


def produce(bootstrap):
    from kafka import KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(TOPIC, PARTS, 1)])
    admin.close()
    p = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    for i in range(N):
        p.send(TOPIC, key=b"k%d" % i, value=b"%d" % i)
    p.flush(60)
    p.close()


def kafka_python_group(bootstrap):
    """Each kafka-python consumer runs in its own thread: its poll() blocks
    through a rebalance until every member has rejoined, as with Kafka."""
    import threading
    from kafka import KafkaConsumer
    lock = threading.Lock()
    seen = {}
    dup = [0]
    splits = [set(), set()]
    stop = threading.Event()
    errors = []

    def run(i):
        try:
            c = KafkaConsumer(TOPIC, bootstrap_servers=bootstrap,
                              group_id="kp-group",
                              auto_offset_reset="earliest",
                              session_timeout_ms=10000,
                              heartbeat_interval_ms=500,
                              max_poll_interval_ms=20000)
            while not stop.is_set():
                for recs in c.poll(timeout_ms=100,
                                   max_records=2000).values():
                    with lock:
                        for r in recs:
                            v = int(r.value)
                            if v in seen:
                                dup[0] += 1
                            seen[v] = i
                a = frozenset(tp.partition for tp in c.assignment())
                if len(a) == PARTS // 2:
                    with lock:
                        splits[i].add(a)
            c.close()
        except Exception as e:  # reported by the main thread
            errors.append(repr(e))

    ts = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    try:
        def split():
            with lock:
                return any(x.isdisjoint(y) for x in splits[0]
                           for y in splits[1])

        harness.wait_for(lambda: (len(seen) >= N and split()) or errors, 120,
                         "kafka-python group to read %d messages and "
                         "split the partitions" % N)
    finally:
        stop.set()
        for t in ts:
            t.join(60)
    assert not errors, errors
    assert len(seen) == N, "read %d of %d" % (len(seen), N)
    assert dup[0] == 0, "%d duplicates" % dup[0]
    both = [x for x in splits[0] if any(x.isdisjoint(y) for y in splits[1])]
    assert both, "the two consumers never held disjoint halves: %r" % splits


KTOPIC = "grp-kcat"


def last_assignment(path):
    """Partitions in the last 'assigned:' line kcat logged, or None."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    lines = [l for l in text.splitlines() if "assigned:" in l]
    if not lines:
        return None
    return lines[-1].count("[")


def kcat_group(bootstrap):
    harness.kcat(["-b", bootstrap, "-L", "-t", KTOPIC])  # auto-creates
    d = harness.mkdtemp("kcat-g-")
    outs, errs, procs = [], [], []
    for i in range(2):
        out = os.path.join(d, "out%d" % i)
        err = os.path.join(d, "err%d" % i)
        with open(out, "wb") as fo, open(err, "wb") as fe:
            p = subprocess.Popen([harness.KCAT, "-u", "-b", bootstrap, "-G",
                                  "kcat-grp", "-X",
                                  "auto.offset.reset=earliest",
                                  "-f", "%p %s\\n", KTOPIC],
                                 stdout=fo, stderr=fe)
        harness._live_procs.append(p)
        procs.append(p)
        outs.append(out)
        errs.append(err)
    harness.wait_for(lambda: all(last_assignment(e) == PARTS // 2
                                 for e in errs), 90,
                     "two kcat -G members with 2 partitions each")
    # keyed, so the messages spread over all partitions (keyless ones
    # stick to one partition at a time)
    payload = b"".join(b"k%d:%d\n" % (i, i) for i in range(N))
    harness.kcat(["-P", "-b", bootstrap, "-t", KTOPIC, "-K", ":"],
                 input=payload)

    def lines():
        res = []
        for path in outs:
            with open(path, "rb") as f:
                res.append(f.read().splitlines())
        return res

    harness.wait_for(lambda: sum(len(x) for x in lines()) >= N, 120,
                     "kcat -G consumers to read %d messages" % N)
    for p in procs:
        p.terminate()
        p.wait(timeout=20)
    per = lines()
    vals = [int(l.split()[1]) for x in per for l in x]
    assert sorted(vals) == list(range(N)), \
        "kcat group read %d values, %d distinct" % (len(vals), len(set(vals)))
    parts = [set(int(l.split()[0]) for l in x) for x in per]
    assert len(parts[0]) == 2 and len(parts[1]) == 2, \
        "kcat members read partitions %r" % parts
    assert parts[0].isdisjoint(parts[1]), "kcat partitions overlap %r" % parts


def main():
    with Broker(sets=["broker.group.initial.rebalance.delay.ms=0",
                      "broker.offsets.topic.num.partitions=8",
                      "broker.num.partitions=%d" % PARTS]) as b:
        produce(b.bootstrap)
        kafka_python_group(b.bootstrap)
        kcat_group(b.bootstrap)


if __name__ == "__main__":
    harness.run(main, timeout=400)

"""Issue #6, acceptance 3 and 4, on a cluster of one controller and three
brokers (replication factor 3, min.insync.replicas 2):

3. A controlled shutdown (SIGTERM) of the broker leading a partition moves
   its leaderships before it exits: the controller logs the move, the broker
   exits 0 within seconds, and a confluent-kafka producer with acks=all
   writing throughout sees no failed delivery (retriable errors are retried
   by the client).
   An acks=all produce whose followers stop answering gets
   NOT_ENOUGH_REPLICAS_AFTER_APPEND once the ISR shrinks under
   min.insync.replicas.
4. A consumer group keeps consuming through the loss (SIGKILL) of the broker
   that coordinates it: every message produced before and after is
   consumed, and offsets committed after the loss are served by the new
   coordinator (its partition of __consumer_offsets moved with the
   leadership)."""

import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import Broker, wait_for  # noqa: E402
from test_controller import free_ports  # noqa: E402

CTL_BIN = os.path.join(harness.BUILDDIR, "controller", "moldau-controller")
CLUSTER_ID = "MoldauFailoverTest0001"
SESSION_MS = 3000


def text(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def group_partition(group, n):
    """Kafka's choice of __consumer_offsets partition (Java hashCode)."""
    h = 0
    for ch in group.encode():
        h = (h * 31 + ch) & 0xffffffff
    return (h & 0x7fffffff) % n


class Cluster:
    def __init__(self, ids=(2, 3, 4), racks=None):
        self.tmp = harness.mkdtemp("moldau-failover-")
        self.ctl_port = free_ports(1)[0]
        self.voters = "1@127.0.0.1:%d" % self.ctl_port
        self.clog = os.path.join(self.tmp, "c1.log")
        with open(self.clog, "wb") as f:
            self.ctl = subprocess.Popen(
                [CTL_BIN, "--set", "node.id=1",
                 "--set", "node.roles=controller",
                 "--set", "cluster.id=" + CLUSTER_ID,
                 "--set", "cluster.controllers=" + self.voters,
                 "--set", "cluster.broker.session.timeout.ms=%d" %
                 SESSION_MS,
                 "--set", "node.data_dir=" + os.path.join(self.tmp, "c1")],
                stdout=f, stderr=subprocess.STDOUT)
        harness._live_procs.append(self.ctl)
        wait_for(lambda: "controller 1 ready:" in text(self.clog), 10,
                 "controller ready")
        self.brokers = {}
        for i in ids:
            b = Broker(sets=["node.id=%d" % i, "node.roles=broker",
                             "cluster.id=" + CLUSTER_ID,
                             "cluster.controllers=" + self.voters,
                             "broker.replica.lag.time.max.ms=4000"] +
                       (["broker.broker.rack=" + racks[i]] if racks else []),
                       name="b%d" % i)
            b.supervised = False
            b.start()
            self.brokers[i] = b
        self.bootstrap = ",".join(b.bootstrap for b in self.brokers.values())

    def admin(self):
        """One client kept alive: its futures die with it."""
        from confluent_kafka.admin import AdminClient
        if getattr(self, "_admin", None) is None:
            self._admin = AdminClient({"bootstrap.servers": self.bootstrap})
        return self._admin

    def leaders(self, topic):
        """{partition: (leader, isr)}; while a killed broker's connection
        is still being given up on, a metadata request can time out:
        then {0: (-1, [])}, which no wait_for here accepts."""
        from confluent_kafka import KafkaException
        try:
            md = self.admin().list_topics(topic, timeout=10)
        except KafkaException as e:
            harness.log("metadata: %s (asked again)" % e)
            return {0: (-1, [])}
        return {p.id: (p.leader, list(p.isrs))
                for p in md.topics[topic].partitions.values()}

    def stop_brokers(self):
        """SIGTERM (a controlled shutdown) each broker: each exits 0."""
        for b in self.brokers.values():
            assert b.stop(timeout=30) == 0, b.stderr_tail()

    def close(self):
        for b in self.brokers.values():
            if b.alive():
                b.kill()
        if self.ctl.poll() is None:
            self.ctl.terminate()
            self.ctl.wait(timeout=10)


class Writer(threading.Thread):
    """acks=all producer writing numbered messages until stopped."""

    def __init__(self, bootstrap, topic, idempotence=False):
        super().__init__(daemon=True)
        from confluent_kafka import Producer
        self.p = Producer({"bootstrap.servers": bootstrap, "acks": "all",
                           "enable.idempotence": idempotence,
                           "linger.ms": 5, "message.timeout.ms": 60000})
        self.topic = topic
        self.sent = 0
        self.acked = []
        self.failed = []
        self.halt = threading.Event()

    def cb(self, err, msg):
        if err is not None:
            self.failed.append(err)
        else:
            self.acked.append(msg.value())

    def run(self):
        while not self.halt.is_set():
            self.p.produce(self.topic, b"%08d" % self.sent, on_delivery=self.cb)
            self.sent += 1
            self.p.poll(0)
            time.sleep(0.002)
        self.p.flush(60)


def controlled_shutdown(c):
    from confluent_kafka.admin import NewTopic
    topic = "fo-cs"
    fs = c.admin().create_topics([NewTopic(topic, 3, 3, config={
        "min.insync.replicas": "2"})])
    fs[topic].result(timeout=30)
    wait_for(lambda: all(len(i) == 3 for _, i in
                         c.leaders(topic).values()), 20, "full ISRs")
    w = Writer(c.bootstrap, topic)
    w.start()
    time.sleep(2)
    victim = c.leaders(topic)[0][0]
    b = c.brokers[victim]
    t0 = time.monotonic()
    rc = b.stop(timeout=30)
    took = time.monotonic() - t0
    assert rc == 0, "broker %d exited %s\n%s" % (victim, rc, b.stderr_tail())
    assert "the controller moved our leaderships: stopping" in b.stderr(), \
        b.stderr_tail()
    assert "controller 1: broker %d shuts down" % victim in text(c.clog)
    lead = c.leaders(topic)
    assert all(l != victim for l, _ in lead.values()), lead
    harness.log("controlled shutdown of broker %d in %.2fs; leaders now %s"
                % (victim, took, lead))
    assert took < 10, took
    time.sleep(2)
    w.halt.set()
    w.join(90)
    assert not w.failed, w.failed[:5]
    assert len(w.acked) == w.sent, (len(w.acked), w.sent)
    harness.log("producer: %d messages acknowledged through the shutdown, "
                "none failed" % len(w.acked))
    b.start()
    wait_for(lambda: all(len(i) == 3 for _, i in
                         c.leaders(topic).values()), 30,
             "broker %d back in every ISR" % victim)
    # everything acknowledged is there, read from the start
    cp = harness.kcat(["-C", "-b", c.bootstrap, "-t", topic, "-e", "-q",
                       "-f", "%s\n"], timeout=60)
    got = set(cp.stdout.split())
    missing = [v for v in w.acked if v not in got]
    assert not missing, missing[:5]


def idempotent_failover(c):
    """An idempotent producer (acks=all) writing while the partition's
    leader is killed (SIGKILL) and comes back: every acknowledged message
    is in the log exactly once, in the order sent (the new leader rebuilt
    the producer state from its log and answered retries of batches it
    already had with their offsets)."""
    from confluent_kafka.admin import NewTopic
    topic = "fo-idem"
    fs = c.admin().create_topics([NewTopic(topic, 1, 3, config={
        "min.insync.replicas": "2"})])
    fs[topic].result(timeout=30)
    wait_for(lambda: len(c.leaders(topic)[0][1]) == 3, 20, "ISR of 3")
    w = Writer(c.bootstrap, topic, idempotence=True)
    w.start()
    kills = 0
    for _ in range(2):
        time.sleep(1.5)
        victim = c.leaders(topic)[0][0]
        c.brokers[victim].kill()
        kills += 1
        wait_for(lambda: c.leaders(topic)[0][0] not in (victim, -1), 30,
                 "a new leader after broker %d" % victim)
        c.brokers[victim].start()
        wait_for(lambda: len(c.leaders(topic)[0][1]) == 3, 60,
                 "broker %d back in the ISR" % victim)
    time.sleep(1)
    w.halt.set()
    w.join(90)
    assert not w.failed, w.failed[:5]
    assert len(w.acked) == w.sent, (len(w.acked), w.sent)
    cp = harness.kcat(["-C", "-b", c.bootstrap, "-t", topic, "-e", "-q",
                       "-f", "%s\n"], timeout=60)
    got = cp.stdout.split()
    dups = len(got) - len(set(got))
    assert dups == 0, "%d duplicates in %d records" % (dups, len(got))
    assert got == [b"%08d" % i for i in range(w.sent)], \
        "log holds %d records for %d sent, not in order" % (len(got), w.sent)
    harness.log("idempotent producer: %d messages through %d leader kills, "
                "each in the log once, in order" % (w.sent, kills))


def after_append(c):
    """acks=all waiting while the followers stop answering: once the ISR
    has shrunk under min.insync.replicas the append is committed by the
    leader alone and the producer gets NOT_ENOUGH_REPLICAS_AFTER_APPEND."""
    import signal
    from confluent_kafka import Producer
    from confluent_kafka.admin import NewTopic
    topic = "fo-after"
    fs = c.admin().create_topics([NewTopic(topic, 1, 3, config={
        "min.insync.replicas": "2"})])
    fs[topic].result(timeout=30)
    wait_for(lambda: len(c.leaders(topic)[0][1]) == 3, 20, "ISR of 3")
    leader = c.leaders(topic)[0][0]
    frozen = [b for i, b in c.brokers.items() if i != leader]
    p = Producer({"bootstrap.servers": c.brokers[leader].bootstrap,
                  "acks": "all", "retries": 0, "message.timeout.ms": 60000,
                  "enable.idempotence": False})
    got = []
    for b in frozen:
        os.kill(b.pid, signal.SIGSTOP)
    try:
        p.produce(topic, b"late", on_delivery=lambda e, m: got.append(e))
        p.flush(60)
    finally:
        for b in frozen:
            os.kill(b.pid, signal.SIGCONT)
    assert len(got) == 1 and got[0] is not None, got
    assert got[0].name() == "NOT_ENOUGH_REPLICAS_AFTER_APPEND", got[0]
    harness.log("acks=all with the followers frozen: %s" % got[0].name())
    wait_for(lambda: len(c.leaders(topic)[0][1]) == 3, 30,
             "the followers back in the ISR")


def coordinator_loss(c):
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import NewTopic
    topic, group = "fo-group", "fo-group-g"
    fs = c.admin().create_topics([NewTopic(topic, 4, 3, config={
        "min.insync.replicas": "2"})])
    fs[topic].result(timeout=30)
    w = Writer(c.bootstrap, topic)
    w.start()
    cons = Consumer({"bootstrap.servers": c.bootstrap, "group.id": group,
                     "auto.offset.reset": "earliest",
                     "enable.auto.commit": True,
                     "auto.commit.interval.ms": 200,
                     "session.timeout.ms": 6000})
    cons.subscribe([topic])
    seen = set()

    def consume(secs):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            m = cons.poll(0.2)
            if m is not None and m.error() is None:
                seen.add(m.value())

    wait_for(lambda: consume(0.5) or len(seen) > 100, 30,
             "the group consuming before the kill")
    md = c.admin().list_topics("__consumer_offsets", timeout=10)
    offs = md.topics["__consumer_offsets"].partitions
    part = offs[group_partition(group, len(offs))]
    coord = part.leader
    assert len(part.replicas) == 3, part.replicas
    harness.log("group %s: coordinator broker %d (__consumer_offsets-%d, "
                "replicas %s)" % (group, coord, part.id, part.replicas))
    before = len(seen)
    c.brokers[coord].kill()
    t0 = time.monotonic()
    consume(12)
    w.halt.set()
    w.join(90)
    consume(8)
    missing = [v for v in w.acked if v not in seen]
    assert not missing, "%d acknowledged messages never consumed: %s" % (
        len(missing), missing[:5])
    assert not w.failed, w.failed[:5]
    new = c.admin().list_topics("__consumer_offsets", timeout=10).topics[
        "__consumer_offsets"].partitions[part.id].leader
    assert new != coord and new >= 0, new
    # the new coordinator serves the offsets auto-committed after the kill
    ends = [cons.get_watermark_offsets(TopicPartition(topic, p),
                                       timeout=10)[1] for p in range(4)]

    def committed():
        cons.poll(0.1)
        got = cons.committed([TopicPartition(topic, p) for p in range(4)],
                             timeout=20)
        return [tp.offset for tp in got]
    wait_for(lambda: committed() == ends, 20,
             "committed offsets at the log ends %s" % ends)
    total = sum(ends)
    harness.log("coordinator %d killed: %d messages consumed before, %d in "
                "all (%.1fs), group now coordinated by broker %d, committed "
                "offsets at the log ends (%d records)" % (coord, before,
                                                          len(seen),
                                    time.monotonic() - t0, new, total))
    cons.close()
    c.brokers[coord].start()


def main():
    c = Cluster()
    try:
        controlled_shutdown(c)
        idempotent_failover(c)
        after_append(c)
        coordinator_loss(c)
        c.stop_brokers()
    finally:
        c.close()


if __name__ == "__main__":
    harness.run(main, timeout=420)

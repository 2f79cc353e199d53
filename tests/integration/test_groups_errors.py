"""Group coordinator error answers, driven at the protocol level with
kafka-python's request classes: OffsetCommit with a stale generation gets
ILLEGAL_GENERATION (22), with an unknown member UNKNOWN_MEMBER_ID (25), a
heartbeat during a rebalance REBALANCE_IN_PROGRESS (27); a confluent-kafka
consumer of another group keeps consuming throughout."""

import time

import harness
from harness import Broker

TOPIC = "gerr-topic"


class Conn:
    """One kafka-python network client: its own TCP connection, so a
    parked JoinGroup on one does not hold up requests on another."""

    def __init__(self, bootstrap):
        from kafka.client_async import KafkaClient
        self.c = KafkaClient(bootstrap_servers=bootstrap,
                             api_version=(2, 4, 0))
        self.node = None
        deadline = time.monotonic() + 20
        while self.node is None or not self.c.ready(self.node):
            self.node = self.c.least_loaded_node()
            self.c.poll(timeout_ms=50)
            assert time.monotonic() < deadline, "no connection"

    def send(self, req):
        return self.c.send(self.node, req)

    def wait(self, fut, timeout=20):
        deadline = time.monotonic() + timeout
        while not fut.is_done:
            self.c.poll(timeout_ms=50)
            assert time.monotonic() < deadline, "no answer to %r" % fut
        assert fut.succeeded(), fut.exception
        return fut.value

    def call(self, req, timeout=20):
        return self.wait(self.send(req), timeout)

    def close(self):
        self.c.close()


def main():
    from confluent_kafka import Consumer, Producer
    from kafka.protocol.commit import OffsetCommitRequest
    from kafka.protocol.group import (HeartbeatRequest, JoinGroupRequest,
                                      SyncGroupRequest)
    with Broker(sets=["broker.group.initial.rebalance.delay.ms=0",
                      "broker.offsets.topic.num.partitions=4"]) as b:
        p = Producer({"bootstrap.servers": b.bootstrap})
        for i in range(200):
            p.produce(TOPIC, value=b"%d" % i)
        assert p.flush(30) == 0
        # another group consuming all along
        other = Consumer({"bootstrap.servers": b.bootstrap,
                          "group.id": "gerr-other",
                          "auto.offset.reset": "earliest"})
        other.subscribe([TOPIC])
        seen = 0

        def pump():
            nonlocal seen
            for m in other.consume(100, 0.05):
                if not m.error():
                    seen += 1

        a = Conn(b.bootstrap)
        join = JoinGroupRequest[2]("gerr", 10000, 10000, "", "consumer",
                                   [("range", b"")])
        r = a.call(join)
        assert r.error_code == 0, r
        gen, ma = r.generation_id, r.member_id
        assert r.leader_id == ma and gen >= 1, r
        r = a.call(SyncGroupRequest[1]("gerr", gen, ma, [(ma, b"")]))
        assert r.error_code == 0, r
        pump()

        def commit(generation, member):
            req = OffsetCommitRequest[2]("gerr", generation, member, -1,
                                         [(TOPIC, [(0, 5, "")])])
            return a.call(req).topics[0][1][0][1]

        assert commit(gen, ma) == 0
        assert commit(gen - 1, ma) == 22, "stale generation"
        assert commit(gen, "no-such-member") == 25, "unknown member"
        r = a.call(HeartbeatRequest[1]("gerr", gen, ma))
        assert r.error_code == 0, r
        pump()

        # a second member joins: the group prepares a rebalance and the
        # first member's heartbeat says so
        bconn = Conn(b.bootstrap)
        pending = bconn.send(join)
        deadline = time.monotonic() + 20
        while True:
            bconn.c.poll(timeout_ms=20)
            r = a.call(HeartbeatRequest[1]("gerr", gen, ma))
            if r.error_code == 27:
                break
            assert r.error_code == 0, r
            assert time.monotonic() < deadline, "no REBALANCE_IN_PROGRESS"
        pump()
        # the first member rejoins: both get generation gen+1
        r = a.call(JoinGroupRequest[2]("gerr", 10000, 10000, ma, "consumer",
                                       [("range", b"")]))
        assert r.error_code == 0 and r.generation_id == gen + 1, r
        rb = bconn.wait(pending)
        assert rb.error_code == 0 and rb.generation_id == gen + 1, rb
        assert commit(gen, ma) == 27, "commit while awaiting the assignment"
        mb = rb.member_id
        sb = bconn.send(SyncGroupRequest[1]("gerr", gen + 1, mb, []))
        r = a.call(SyncGroupRequest[1]("gerr", gen + 1, ma,
                                       [(ma, b"a"), (mb, b"b")]))
        assert r.error_code == 0 and r.member_assignment == b"a", r
        r = bconn.wait(sb)
        assert r.error_code == 0 and r.member_assignment == b"b", r
        assert commit(gen, ma) == 22, "old generation after the rebalance"
        assert commit(gen + 1, ma) == 0
        a.close()
        bconn.close()
        deadline = time.monotonic() + 30
        while seen < 200:
            pump()
            assert time.monotonic() < deadline, "other group read %d" % seen
        other.close()


if __name__ == "__main__":
    harness.run(main, timeout=180)

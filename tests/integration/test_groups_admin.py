"""Group coordinator APIs seen by admin tools: ListGroups, DescribeGroups,
OffsetFetch (all partitions), DeleteGroups (empty vs live group), static
membership (group.instance.id) keeping its assignment across a restart of
the consumer, and committed offsets stored in __consumer_offsets in Kafka's
own record format (OffsetCommitKey v1 / OffsetCommitValue v3,
GroupMetadataKey v2 / GroupMetadataValue v3) so lag exporters can read it."""

import struct
import time

import harness
from harness import Broker

TOPIC = "adm-grp"
PARTS = 2


def setup(bootstrap):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(TOPIC, PARTS, 1)]).values():
        assert f.result(timeout=30) is None
    p = Producer({"bootstrap.servers": bootstrap})
    for i in range(100):
        p.produce(TOPIC, value=b"%d" % i, partition=i % PARTS)
    assert p.flush(30) == 0


def consume_some(bootstrap, group, n, extra=None):
    from confluent_kafka import Consumer
    conf = {"bootstrap.servers": bootstrap, "group.id": group,
            "auto.offset.reset": "earliest", "enable.auto.commit": False}
    conf.update(extra or {})
    c = Consumer(conf)
    c.subscribe([TOPIC])
    got = 0
    deadline = time.monotonic() + 60
    while got < n:
        assert time.monotonic() < deadline, "read %d of %d" % (got, n)
        for m in c.consume(n - got, 0.2):
            if not m.error():
                got += 1
    c.commit(asynchronous=False)
    return c


def read_str(b, i):
    (n,) = struct.unpack_from(">h", b, i)
    return b[i + 2:i + 2 + n].decode(), i + 2 + n


def offsets_records(bootstrap):
    """Every (key, value) of __consumer_offsets, read from the beginning
    with a plain librdkafka consumer (assign, no group)."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader",
                  "enable.auto.commit": False,
                  "enable.partition.eof": True})
    md = c.list_topics("__consumer_offsets", timeout=10)
    parts = sorted(md.topics["__consumer_offsets"].partitions)
    assert parts, "no __consumer_offsets partitions"
    c.assign([TopicPartition("__consumer_offsets", p, 0) for p in parts])
    eof, recs = set(), []
    deadline = time.monotonic() + 30
    while len(eof) < len(parts):
        assert time.monotonic() < deadline, "reading __consumer_offsets"
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            eof.add(m.partition())
            continue
        recs.append((m.key(), m.value()))
    c.close()
    return recs


def check_offsets_topic(bootstrap):
    """Decode __consumer_offsets with Kafka's schemas, as Burrow would."""
    commits, metas = {}, {}
    for key, value in offsets_records(bootstrap):
        (kv,) = struct.unpack_from(">h", key, 0)
        if kv in (0, 1):
            g, i = read_str(key, 2)
            t, i = read_str(key, i)
            (p,) = struct.unpack_from(">i", key, i)
            assert i + 4 == len(key), "trailing bytes in OffsetCommitKey"
            if value is None:
                commits.pop((g, t, p), None)
                continue
            (vv, off, epoch) = struct.unpack_from(">hqi", value, 0)
            meta, i = read_str(value, 14)
            (ts,) = struct.unpack_from(">q", value, i)
            assert i + 8 == len(value), "trailing bytes in OffsetCommitValue"
            assert vv == 3, "OffsetCommitValue version %d" % vv
            assert abs(ts / 1000 - time.time()) < 600, "commit time %d" % ts
            commits[(g, t, p)] = off
        elif kv == 2:
            g, _ = read_str(key, 2)
            if value is None:
                metas.pop(g, None)
                continue
            (vv,) = struct.unpack_from(">h", value, 0)
            ptype, i = read_str(value, 2)
            (gen,) = struct.unpack_from(">i", value, i)
            assert vv == 3, "GroupMetadataValue version %d" % vv
            metas[g] = (ptype, gen)
        else:
            raise AssertionError("unknown key version %d" % kv)
    return commits, metas


def main():
    from kafka.admin import KafkaAdminClient
    with Broker(sets=["broker.group.initial.rebalance.delay.ms=0",
                      "broker.offsets.topic.num.partitions=4"]) as b:
        setup(b.bootstrap)
        live = consume_some(b.bootstrap, "adm-live", 30)
        done = consume_some(b.bootstrap, "adm-done", 40)
        done.close()
        admin = KafkaAdminClient(bootstrap_servers=b.bootstrap)
        groups = dict(admin.list_consumer_groups())
        assert groups.get("adm-live") == "consumer", groups
        assert groups.get("adm-done") == "consumer", groups
        desc = {d.group: d for d in admin.describe_consumer_groups(
            ["adm-live", "adm-done"])}
        assert desc["adm-live"].state == "Stable", desc["adm-live"]
        assert len(desc["adm-live"].members) == 1
        mem = desc["adm-live"].members[0]
        assert mem.member_assignment.assignment == [(TOPIC,
                                                     list(range(PARTS)))], \
            mem.member_assignment
        assert desc["adm-done"].state == "Empty", desc["adm-done"]
        offs = admin.list_consumer_group_offsets("adm-done")
        total = sum(o.offset for o in offs.values())
        assert total == 40, "adm-done committed %r" % offs

        commits, metas = check_offsets_topic(b.bootstrap)
        want = {("adm-done", TOPIC, tp.partition): o.offset
                for tp, o in offs.items()}
        got = {k: v for k, v in commits.items() if k[0] == "adm-done"}
        assert got == want, "decoded %r, committed %r" % (got, want)
        assert metas.get("adm-live", ("", 0))[0] == "consumer", metas
        assert metas["adm-live"][1] >= 1, metas

        # DeleteGroups: a live group is refused, an empty one goes away
        res = dict(admin.delete_consumer_groups(["adm-live", "adm-done"]))
        assert res["adm-done"].__name__ == "NoError", res
        assert res["adm-live"].__name__ == "NonEmptyGroupError", res
        groups = dict(admin.list_consumer_groups())
        assert "adm-done" not in groups, groups
        commits, metas = check_offsets_topic(b.bootstrap)
        assert not [k for k in commits if k[0] == "adm-done"], commits
        live.close()

        # static membership: same group.instance.id, same partitions back
        conf = {"group.instance.id": "static-1", "session.timeout.ms": 10000}
        s1 = consume_some(b.bootstrap, "adm-static", 10, conf)
        a1 = sorted(tp.partition for tp in s1.assignment())
        s1.close()
        s2 = consume_some(b.bootstrap, "adm-static", 10, conf)
        a2 = sorted(tp.partition for tp in s2.assignment())
        assert a1 == a2 == list(range(PARTS)), (a1, a2)
        d = admin.describe_consumer_groups(["adm-static"])[0]
        assert len(d.members) == 1, d.members
        s2.close()
        admin.close()


if __name__ == "__main__":
    harness.run(main, timeout=240)

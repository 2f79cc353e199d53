"""Admin APIs against a real broker: confluent-kafka's AdminClient
(CreateTopics with configs and validate_only, the policy errors,
CreatePartitions, DescribeConfigs, AlterConfigs, DeleteTopics), kafka-python
for IncrementalAlterConfigs, DeleteRecords and DescribeLogDirs (request
classes defined here on kafka-python's codec), DescribeCluster over a raw
socket, and topic configs surviving a restart."""

import socket
import struct

import harness
from harness import Broker

T = 20  # seconds for each admin call


def admin(bootstrap):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": bootstrap})


def kafka_error(fut):
    """The KafkaError a future failed with (AssertionError if it did not
    fail)."""
    from confluent_kafka import KafkaException
    try:
        fut.result(timeout=T)
    except KafkaException as e:
        return e.args[0]
    raise AssertionError("call succeeded, expected an error")


def create(a, name, parts=1, rf=1, config=None, validate_only=False):
    from confluent_kafka.admin import NewTopic
    nt = NewTopic(name, num_partitions=parts, replication_factor=rf,
                  config=config or {})
    return a.create_topics([nt], request_timeout=T,
                           validate_only=validate_only)[name]


def topic_configs(a, name):
    from confluent_kafka.admin import ConfigResource
    res = ConfigResource(ConfigResource.Type.TOPIC, name)
    return a.describe_configs([res], request_timeout=T)[res].result(
        timeout=T)


def check_create_errors(a):
    from confluent_kafka import KafkaError
    cases = [
        (dict(name="bad name!"), KafkaError.TOPIC_EXCEPTION),
        (dict(name="ok-rf3", rf=3), KafkaError.INVALID_REPLICATION_FACTOR),
        (dict(name="ok-cfg", config={"retention.ms": "soon"}),
         KafkaError.INVALID_CONFIG),
        (dict(name="ok-cfg2", config={"no.such.config": "1"}),
         KafkaError.INVALID_CONFIG),
        (dict(name="ok-cfg3", config={"cleanup.policy": "shred"}),
         KafkaError.INVALID_CONFIG),
        (dict(name="ok-cfg4", config={"min.insync.replicas": "0"}),
         KafkaError.INVALID_CONFIG),
        (dict(name="exists"), KafkaError.TOPIC_ALREADY_EXISTS),
    ]
    assert create(a, "exists").result(timeout=T) is None
    for kw, code in cases:
        err = kafka_error(create(a, **kw))
        assert err.code() == code, "%r: got %s, want %s" % (kw, err, code)
        harness.log("create %r -> %s (%s)" % (kw, err.name(), err.str()))
    md = a.list_topics(timeout=T)
    for kw, _ in cases[:-1]:
        assert kw["name"] not in md.topics, "%s was created" % kw["name"]


def check_create_with_configs(a):
    # validate_only: accepted, nothing created.
    assert create(a, "vo", 2, config={"retention.ms": "1234"},
                  validate_only=True).result(timeout=T) is None
    assert "vo" not in a.list_topics(timeout=T).topics
    assert create(a, "cfg", 2, config={"retention.ms": "1234",
                                       "cleanup.policy": "compact"}
                  ).result(timeout=T) is None
    cfg = topic_configs(a, "cfg")
    assert cfg["retention.ms"].value == "1234", cfg["retention.ms"]
    assert cfg["retention.ms"].source == 1  # DYNAMIC_TOPIC_CONFIG
    assert cfg["cleanup.policy"].value == "compact"
    assert cfg["segment.bytes"].value == "1073741824"
    assert cfg["segment.bytes"].source == 5  # DEFAULT_CONFIG
    assert not cfg["retention.ms"].is_sensitive
    assert not cfg["retention.ms"].is_read_only
    syn = [(s.name, s.value) for s in
           cfg["retention.ms"].synonyms.values()]
    assert ("log.retention.ms", "604800000") in syn, syn


def check_alter_configs(a):
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import ConfigResource
    # AlterConfigs replaces the topic's whole set of overrides.
    res = ConfigResource(ConfigResource.Type.TOPIC, "cfg",
                         set_config={"retention.ms": "86400000",
                                     "cleanup.policy": "delete,compact"})
    a.alter_configs([res], request_timeout=T)[res].result(timeout=T)
    cfg = topic_configs(a, "cfg")
    assert cfg["retention.ms"].value == "86400000"
    assert cfg["cleanup.policy"].value == "delete,compact"
    bad = ConfigResource(ConfigResource.Type.TOPIC, "cfg",
                         set_config={"segment.bytes": "1"})
    err = kafka_error(a.alter_configs([bad], request_timeout=T)[bad])
    assert err.code() == KafkaError.INVALID_CONFIG, err
    assert "segment.bytes" in err.str(), err.str()
    assert topic_configs(a, "cfg")["retention.ms"].value == "86400000"
    missing = ConfigResource(ConfigResource.Type.TOPIC, "no-such-topic",
                             set_config={"retention.ms": "1"})
    err = kafka_error(a.alter_configs([missing], request_timeout=T)[missing])
    assert err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART, err
    # Broker configs are static: described read-only, not alterable.
    br = ConfigResource(ConfigResource.Type.BROKER, "1")
    bcfg = a.describe_configs([br], request_timeout=T)[br].result(timeout=T)
    assert bcfg["num.partitions"].value == "1"
    assert bcfg["num.partitions"].is_read_only
    assert bcfg["log.cleanup.policy"].value == "delete"
    bset = ConfigResource(ConfigResource.Type.BROKER, "1",
                          set_config={"num.partitions": "4"})
    err = kafka_error(a.alter_configs([bset], request_timeout=T)[bset])
    assert err.code() == KafkaError.INVALID_REQUEST, err


def check_partitions(a):
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import NewPartitions
    fs = a.create_partitions([NewPartitions("cfg", 5)], request_timeout=T)
    assert fs["cfg"].result(timeout=T) is None
    md = a.list_topics("cfg", timeout=T)
    assert sorted(md.topics["cfg"].partitions) == [0, 1, 2, 3, 4]
    for count in (5, 3):
        fs = a.create_partitions([NewPartitions("cfg", count)],
                                 request_timeout=T)
        err = kafka_error(fs["cfg"])
        assert err.code() == KafkaError.INVALID_PARTITIONS, err
    fs = a.create_partitions([NewPartitions("no-such-topic", 3)],
                             request_timeout=T)
    assert kafka_error(fs["no-such-topic"]).code() == \
        KafkaError.UNKNOWN_TOPIC_OR_PART


# -- kafka-python with request classes it lacks ---------------------------
def kp_requests():
    from kafka.protocol.api import Request, Response
    from kafka.protocol.types import (Array, Boolean, Int8, Int16, Int32,
                                      Int64, Schema, String)

    class DeleteRecordsResponse(Response):
        API_KEY = 21
        API_VERSION = 0
        SCHEMA = Schema(
            ("throttle_time_ms", Int32),
            ("topics", Array(("name", String("utf-8")),
                             ("partitions", Array(("partition", Int32),
                                                  ("low_watermark", Int64),
                                                  ("error_code", Int16))))))

    class DeleteRecordsRequest(Request):
        API_KEY = 21
        API_VERSION = 0
        RESPONSE_TYPE = DeleteRecordsResponse
        SCHEMA = Schema(
            ("topics", Array(("name", String("utf-8")),
                             ("partitions", Array(("partition", Int32),
                                                  ("offset", Int64))))),
            ("timeout_ms", Int32))

    class IncAlterResponse(Response):
        API_KEY = 44
        API_VERSION = 0
        SCHEMA = Schema(
            ("throttle_time_ms", Int32),
            ("responses", Array(("error_code", Int16),
                                ("error_message", String("utf-8")),
                                ("resource_type", Int8),
                                ("resource_name", String("utf-8")))))

    class IncAlterRequest(Request):
        API_KEY = 44
        API_VERSION = 0
        RESPONSE_TYPE = IncAlterResponse
        SCHEMA = Schema(
            ("resources", Array(("resource_type", Int8),
                                ("resource_name", String("utf-8")),
                                ("configs", Array(("name", String("utf-8")),
                                                  ("op", Int8),
                                                  ("value",
                                                   String("utf-8")))))),
            ("validate_only", Boolean))

    class LogDirsResponse(Response):
        API_KEY = 35
        API_VERSION = 0
        SCHEMA = Schema(
            ("throttle_time_ms", Int32),
            ("results", Array(
                ("error_code", Int16), ("log_dir", String("utf-8")),
                ("topics", Array(("name", String("utf-8")),
                                 ("partitions", Array(
                                     ("partition", Int32), ("size", Int64),
                                     ("lag", Int64), ("future", Boolean))))))))

    class LogDirsRequest(Request):
        API_KEY = 35
        API_VERSION = 0
        RESPONSE_TYPE = LogDirsResponse
        SCHEMA = Schema(("topics", Array(("topic", String("utf-8")),
                                         ("partitions", Array(Int32)))))

    return DeleteRecordsRequest, IncAlterRequest, LogDirsRequest


def kp_call(ka, req):
    node = ka._client.least_loaded_node()
    fut = ka._send_request_to_node(node, req)
    ka._wait_for_futures([fut])
    return fut.value


def produce(bootstrap, topic, n):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap})
    for i in range(n):
        p.produce(topic, value=b"v%d" % i, partition=0)
    assert p.flush(T) == 0, "messages left unflushed"


def consume_all(bootstrap, topic):
    """Values of partition 0 from the earliest offset to the end."""
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "ignored",
                  "enable.auto.commit": False,
                  "enable.partition.eof": True})
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got = []

    def step():
        m = c.poll(0.2)
        if m is None:
            return False
        if m.error():
            assert m.error().code() == m.error()._PARTITION_EOF, m.error()
            return True
        got.append(m.value())
        return False

    harness.wait_for(step, T, "end of %s-0" % topic)
    c.close()
    return got


def check_incremental_and_records(b):
    from kafka.admin import KafkaAdminClient
    delete_req, inc_req, logdirs_req = kp_requests()
    ka = KafkaAdminClient(bootstrap_servers=b.bootstrap,
                          request_timeout_ms=T * 1000)
    # IncrementalAlterConfigs: SET, APPEND, DELETE; an invalid op fails alone.
    r = kp_call(ka, inc_req(resources=[
        (2, "cfg", [("retention.ms", 0, "777"),
                    ("cleanup.policy", 3, "compact")])], validate_only=False))
    assert [x[0] for x in r.responses] == [0], r
    a = admin(b.bootstrap)
    cfg = topic_configs(a, "cfg")
    assert cfg["retention.ms"].value == "777"
    assert cfg["cleanup.policy"].value == "delete"
    r = kp_call(ka, inc_req(resources=[
        (2, "cfg", [("retention.ms", 1, None)])], validate_only=False))
    assert r.responses[0][0] == 0, r
    assert topic_configs(a, "cfg")["retention.ms"].source == 5
    r = kp_call(ka, inc_req(resources=[
        (2, "cfg", [("flush.ms", 0, "-3")])], validate_only=False))
    assert r.responses[0][0] == 40 and "flush.ms" in r.responses[0][1], r

    # DeleteRecords moves the log start; consumers from earliest skip.
    produce(b.bootstrap, "recs", 10)
    r = kp_call(ka, delete_req(topics=[("recs", [(0, 4)])], timeout_ms=5000))
    assert r.topics[0][1][0] == (0, 4, 0), r
    r = kp_call(ka, delete_req(topics=[("recs", [(0, 99)])],
                               timeout_ms=5000))
    assert r.topics[0][1][0][2] == 1, r  # OFFSET_OUT_OF_RANGE
    r = kp_call(ka, delete_req(topics=[("nope", [(0, 1)])], timeout_ms=5000))
    assert r.topics[0][1][0][2] == 3, r  # UNKNOWN_TOPIC_OR_PARTITION
    assert consume_all(b.bootstrap, "recs") == \
        [b"v%d" % i for i in range(4, 10)]

    r = kp_call(ka, logdirs_req(topics=[("recs", [0])]))
    (err, logdir, topics), = r.results
    assert err == 0 and logdir == b.data_dir, r
    assert topics[0][0] == "recs" and topics[0][1][0][0] == 0, topics
    assert topics[0][1][0][1] > 0, topics
    ka.close()


def describe_cluster_raw(b):
    """DescribeCluster v0 (flexible) over a socket: (error, cluster id,
    controller id, [(broker id, host, port)])."""
    body = struct.pack(">?B", False, 0)
    hdr = struct.pack(">hhih", 60, 0, 7, 4) + b"test" + b"\x00"
    msg = hdr + body
    with socket.create_connection(("127.0.0.1", b.port), timeout=T) as s:
        s.sendall(struct.pack(">i", len(msg)) + msg)
        buf = b""
        while len(buf) < 4 or len(buf) < 4 + struct.unpack(">i",
                                                           buf[:4])[0]:
            chunk = s.recv(65536)
            assert chunk, "connection closed"
            buf += chunk
    p = [8]  # size, correlation id

    def uv():
        v = shift = 0
        while True:
            c = buf[p[0]]
            p[0] += 1
            v |= (c & 0x7f) << shift
            shift += 7
            if not c & 0x80:
                return v

    def i32():
        p[0] += 4
        return struct.unpack(">i", buf[p[0] - 4:p[0]])[0]

    def cstr():
        n = uv() - 1
        if n < 0:
            return None
        p[0] += n
        return buf[p[0] - n:p[0]].decode()

    assert struct.unpack(">i", buf[4:8])[0] == 7
    uv()  # header tags
    i32()  # throttle
    err = struct.unpack(">h", buf[p[0]:p[0] + 2])[0]
    p[0] += 2
    cstr()  # error message
    cluster = cstr()
    controller = i32()
    brokers = []
    for _ in range(uv() - 1):
        bid = i32()
        host = cstr()
        port = i32()
        cstr()  # rack
        uv()
        brokers.append((bid, host, port))
    return err, cluster, controller, brokers


def check_kafka_python_admin(b):
    """The same operations through kafka-python's KafkaAdminClient."""
    from kafka.admin import (ConfigResource, ConfigResourceType,
                             KafkaAdminClient, NewPartitions, NewTopic)
    from kafka.errors import KafkaError
    ka = KafkaAdminClient(bootstrap_servers=b.bootstrap)

    def code(fn, *args):
        """Kafka's error code of a call: 0, or the raised error's errno."""
        try:
            fn(*args)
        except KafkaError as e:
            return e.errno
        return 0
    ct = ka.create_topics
    assert code(ct, [NewTopic("kp-adm", 2, 1, topic_configs={
        "retention.ms": "3600000", "cleanup.policy": "compact"})]) == 0
    assert code(ct, [NewTopic("kp-adm", 2, 1)]) == 36  # TOPIC_ALREADY_EXISTS
    assert code(ct, [NewTopic("bad name!", 1, 1)]) == 17  # INVALID_TOPIC
    assert code(ct, [NewTopic("kp-rf", 1, 3)]) == 38  # INVALID_REPL_FACTOR
    assert code(ct, [NewTopic("kp-cfg", 1, 1, topic_configs={
        "retention.ms": "soon"})]) == 40  # INVALID_CONFIG

    def configs():
        res = ka.describe_configs([ConfigResource(ConfigResourceType.TOPIC,
                                                  "kp-adm")])
        entries = res[0].resources[0][4]
        return {e[0]: e[1] for e in entries}

    c = configs()
    assert c["retention.ms"] == "3600000", c["retention.ms"]
    assert c["cleanup.policy"] == "compact", c["cleanup.policy"]
    r = ka.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "kp-adm",
                                         configs={"retention.ms": "7200000",
                                                  "cleanup.policy": "delete"})])
    assert [x[0] for x in r.resources] == [0], r
    c = configs()
    assert (c["retention.ms"], c["cleanup.policy"]) == ("7200000", "delete"), c
    cp = ka.create_partitions
    assert code(cp, {"kp-adm": NewPartitions(4)}) == 0
    assert code(cp, {"kp-adm": NewPartitions(3)}) == 37  # INVALID_PARTITIONS
    md = ka.describe_topics(["kp-adm"])
    assert len(md[0]["partitions"]) == 4, md
    assert code(ka.delete_topics, ["kp-adm"]) == 0
    assert code(ka.delete_topics, ["kp-adm"]) == 3  # UNKNOWN_TOPIC
    ka.close()


def test():
    with Broker() as b:
        check_kafka_python_admin(b)
        a = admin(b.bootstrap)
        check_create_errors(a)
        check_create_with_configs(a)
        check_alter_configs(a)
        check_partitions(a)
        assert create(a, "recs").result(timeout=T) is None
        check_incremental_and_records(b)
        err, cluster, controller, brokers = describe_cluster_raw(b)
        assert err == 0 and cluster, (err, cluster)
        assert brokers == [(controller, "127.0.0.1", b.port)], brokers

        # Overrides survive a restart; deleting the topic drops them.
        b.restart()
        a = admin(b.bootstrap)
        cfg = topic_configs(a, "cfg")
        assert cfg["cleanup.policy"].value == "delete", cfg["cleanup.policy"]
        assert cfg["retention.ms"].source == 5
        md = a.list_topics("cfg", timeout=T)
        assert len(md.topics["cfg"].partitions) == 5
        assert consume_all(b.bootstrap, "recs")[0] == b"v4"
        fs = a.delete_topics(["cfg"], request_timeout=T)
        assert fs["cfg"].result(timeout=T) is None
        assert create(a, "cfg").result(timeout=T) is None
        assert topic_configs(a, "cfg")["cleanup.policy"].source == 5


if __name__ == "__main__":
    harness.run(test)

"""kcat against a real broker: -L metadata, and a -P / -C -e round trip of
10,000 keyed messages checked key by key, value by value, in order."""

import json

import harness
from harness import Broker, kcat

N = 10000
TOPIC = "kcat-roundtrip"


def metadata(bootstrap, topic=None):
    args = ["-L", "-J", "-b", bootstrap]
    if topic:
        args += ["-t", topic]
    cp = kcat(args)
    md = json.loads(cp.stdout.decode())
    return md


def test():
    with Broker(sets=["broker.num.partitions=1",
                      "broker.auto.create.topics.enable=true"]) as b:
        md = metadata(b.bootstrap)
        brokers = md["brokers"]
        assert len(brokers) == 1, "expected one broker, got %r" % brokers
        assert brokers[0]["name"] == "%s:%d" % (b.host, b.port) or \
            brokers[0]["name"].startswith("%s:%d/" % (b.host, b.port)), \
            "broker advertised as %r, bound to %s" % (brokers[0], b.bootstrap)
        bid = brokers[0]["id"]

        # Producer: key i and value i with separator ':'; some values carry
        # the separator themselves (only the first ':' splits).
        msgs = []
        for i in range(N):
            k = b"key-%05d" % i
            v = b"value-%05d:%s" % (i, b"x" * (i % 97))
            msgs.append((k, v))
        data = b"".join(k + b":" + v + b"\n" for k, v in msgs)
        kcat(["-P", "-b", b.bootstrap, "-t", TOPIC, "-K", ":",
              "-X", "acks=all"], input=data, timeout=120)

        md = metadata(b.bootstrap, TOPIC)
        topics = [t for t in md["topics"] if t["topic"] == TOPIC]
        assert len(topics) == 1, "topic %s not listed: %r" % (TOPIC, md)
        t = topics[0]
        assert "error" not in t or not t["error"], "topic error: %r" % t
        parts = t["partitions"]
        assert len(parts) == 1, "auto-created with %d partitions" % len(parts)
        assert parts[0]["partition"] == 0 and parts[0]["leader"] == bid, \
            "partition metadata %r" % parts[0]

        # Consumer: -e exits at the end; -f prints partition, offset, key
        # and value so every field is checked.  Values hold no newline.
        cp = kcat(["-C", "-b", b.bootstrap, "-t", TOPIC, "-o", "beginning",
                   "-e", "-q", "-f", "%p %o %k %s\\n"], timeout=120)
        lines = cp.stdout.split(b"\n")
        assert lines[-1] == b"", "output does not end with newline"
        lines = lines[:-1]
        assert len(lines) == N, "consumed %d messages, produced %d" % (
            len(lines), N)
        for i, line in enumerate(lines):
            p, o, k, v = line.split(b" ", 3)
            assert (int(p), int(o)) == (0, i), \
                "message %d at partition %s offset %s" % (i, p, o)
            assert (k, v) == msgs[i], "message %d: got %r %r, want %r" % (
                i, k, v, msgs[i])

        # Keys with -K on the consumer side, too (default -f is key:value).
        cp = kcat(["-C", "-b", b.bootstrap, "-t", TOPIC, "-o", "-3", "-e",
                   "-q", "-K", ":"])
        tail = cp.stdout.split(b"\n")[:-1]
        assert tail == [k + b":" + v for k, v in msgs[-3:]], \
            "last three via -o -3: %r" % tail
        harness.log("kcat: %d keyed messages round-tripped" % N)


if __name__ == "__main__":
    harness.run(test)

"""The kafka-*.sh tools and the moldau CLI against a real broker, checked
on their output: the seed's command sequence verbatim, topics, console
producer/consumer with keys, consumer group lag and reset, configs,
get-offsets, delete-records, --help everywhere and the error cases (one
line on stderr, non-zero exit)."""

import json
import os
import re
import subprocess

import harness
from harness import Broker

TOOLS_DIR = os.path.join(harness.SRCDIR, "tools")
MOLDAU = os.path.join(harness.BUILDDIR, "tools", "moldau")
SCRIPTS = ["kafka-topics", "kafka-console-producer", "kafka-console-consumer",
           "kafka-consumer-groups", "kafka-configs", "kafka-get-offsets",
           "kafka-delete-records"]
ENV = dict(os.environ, PATH=os.path.dirname(MOLDAU) + os.pathsep +
           os.environ.get("PATH", ""))


def run(args, input=None, rc=0, timeout=60):
    """Run a tool (args[0] a kafka-*.sh name or "moldau"); returns
    (stdout, stderr) as text, asserting the exit status."""
    exe = MOLDAU if args[0] == "moldau" else os.path.join(TOOLS_DIR,
                                                          args[0])
    av = [exe] + list(args[1:])
    try:
        cp = subprocess.run(av, input=input, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=timeout,
                            env=ENV)
    except subprocess.TimeoutExpired:
        raise AssertionError("timed out after %ds: %s" % (timeout, av))
    out = cp.stdout.decode("utf-8", "replace")
    err = cp.stderr.decode("utf-8", "replace")
    if rc == 0:
        assert cp.returncode == 0, "%s: exit %d\nstdout: %s\nstderr: %s" % (
            av, cp.returncode, out, err)
    else:
        assert cp.returncode != 0, "%s: exit 0, expected failure\n%s" % (
            av, out)
    return out, err


def one_error_line(args, pattern, input=None):
    out, err = run(args, input=input, rc=1)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, "%s: want one stderr line, got %r" % (args,
                                                                  lines)
    assert re.search(pattern, lines[0]), "%s: %r !~ %r" % (args, lines[0],
                                                           pattern)
    harness.log("%s -> %s" % (args[0], lines[0]))


def seed(hp):
    out, _ = run(["kafka-topics.sh", "--create", "--topic", "mytopic",
                  "--bootstrap-server", hp, "--partitions", "1",
                  "--replication-factor", "1"])
    assert out == "Created topic mytopic.\n", out
    out, _ = run(["kafka-topics.sh", "--list", "--bootstrap-server", hp])
    assert "mytopic" in out.splitlines(), out
    out, _ = run(["kafka-topics.sh", "--describe", "--topic", "mytopic",
                  "--bootstrap-server", hp])
    lines = out.splitlines()
    assert re.match(r"^Topic: mytopic\tTopicId: [A-Za-z0-9_-]{22}\t"
                    r"PartitionCount: 1\tReplicationFactor: 1\tConfigs: ",
                    lines[0]), lines
    assert lines[1] == "\tTopic: mytopic\tPartition: 0\tLeader: 1\t" \
        "Replicas: 1\tIsr: 1", lines
    run(["kafka-console-producer.sh", "--topic", "mytopic",
         "--bootstrap-server", hp], input=b"first line\nsecond line\n")
    out, err = run(["kafka-console-consumer.sh", "--topic", "mytopic",
                    "--from-beginning", "--bootstrap-server", hp,
                    "--max-messages", "2"])
    assert out == "first line\nsecond line\n", out
    assert "Processed a total of 2 messages" in err, err


def topics(hp):
    out, _ = run(["kafka-topics.sh", "--bootstrap-server", hp, "--create",
                  "--topic", "t3", "--partitions", "3", "--config",
                  "retention.ms=60000", "--config", "cleanup.policy=compact"])
    assert out == "Created topic t3.\n"
    out, _ = run(["kafka-topics.sh", "--bootstrap-server", hp, "--describe",
                  "--topic", "t3"])
    first = out.splitlines()[0]
    assert "PartitionCount: 3" in first, first
    assert first.endswith("Configs: cleanup.policy=compact,"
                          "retention.ms=60000"), first
    assert len(out.splitlines()) == 4
    # --if-not-exists succeeds silently; without it, an error line.
    out, _ = run(["kafka-topics.sh", "--bootstrap-server", hp, "--create",
                  "--topic", "t3", "--if-not-exists"])
    assert out == ""
    one_error_line(["kafka-topics.sh", "--bootstrap-server", hp, "--create",
                    "--topic", "t3"], r"already exists")
    one_error_line(["kafka-topics.sh", "--bootstrap-server", hp, "--create",
                    "--topic", "bad/name"], r"illegal")
    one_error_line(["kafka-topics.sh", "--bootstrap-server", hp, "--create",
                    "--topic", "rf", "--replication-factor", "3"],
                   r"[Rr]eplication factor")
    one_error_line(["kafka-topics.sh", "--bootstrap-server", hp, "--create",
                    "--topic", "c", "--config", "retention.ms=x"],
                   r"retention\.ms")
    run(["kafka-topics.sh", "--bootstrap-server", hp, "--alter", "--topic",
         "t3", "--partitions", "4"])
    out, _ = run(["kafka-topics.sh", "--bootstrap-server", hp, "--describe",
                  "--topic", "t3"])
    assert "PartitionCount: 4" in out and "Partition: 3\t" in out, out
    one_error_line(["kafka-topics.sh", "--bootstrap-server", hp, "--alter",
                    "--topic", "t3", "--partitions", "2"], r"partitions")
    one_error_line(["kafka-topics.sh", "--bootstrap-server", hp,
                    "--describe", "--topic", "nope"], r"'nope' does not exist")
    run(["kafka-topics.sh", "--bootstrap-server", hp, "--delete", "--topic",
         "t3"])
    out, _ = run(["kafka-topics.sh", "--bootstrap-server", hp, "--list"])
    assert "t3" not in out.splitlines(), out
    one_error_line(["kafka-topics.sh", "--bootstrap-server", hp, "--delete",
                    "--topic", "t3"], r"does not exist")


def console_keys(hp):
    run(["kafka-topics.sh", "--bootstrap-server", hp, "--create", "--topic",
         "keyed"])
    run(["kafka-console-producer.sh", "--bootstrap-server", hp, "--topic",
         "keyed", "--property", "parse.key=true", "--property",
         "key.separator=:"], input=b"k1:v1\nk2:v:2\n")
    out, _ = run(["kafka-console-consumer.sh", "--bootstrap-server", hp,
                  "--topic", "keyed", "--from-beginning", "--property",
                  "print.key=true", "--property", "key.separator=|",
                  "--timeout-ms", "3000"])
    assert out == "k1|v1\nk2|v:2\n", out
    one_error_line(["kafka-console-producer.sh", "--bootstrap-server", hp,
                    "--topic", "keyed", "--property", "parse.key=true"],
                   r"no key separator found on line number 1",
                   input=b"novalue\n")


def groups(hp):
    run(["kafka-topics.sh", "--bootstrap-server", hp, "--create", "--topic",
         "gt"])
    lines = "".join("m%d\n" % i for i in range(10)).encode()
    run(["kafka-console-producer.sh", "--bootstrap-server", hp, "--topic",
         "gt"], input=lines)
    out, _ = run(["kafka-console-consumer.sh", "--bootstrap-server", hp,
                  "--topic", "gt", "--group", "half", "--from-beginning",
                  "--max-messages", "5"])
    assert out == "".join("m%d\n" % i for i in range(5)), out
    out, _ = run(["kafka-consumer-groups.sh", "--bootstrap-server", hp,
                  "--list"])
    assert "half" in out.splitlines(), out
    out, _ = run(["kafka-consumer-groups.sh", "--bootstrap-server", hp,
                  "--describe", "--group", "half"])
    hdr = [ln for ln in out.splitlines() if ln.startswith("GROUP")]
    assert hdr and hdr[0].split() == [
        "GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET",
        "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"], out
    row = [ln.split() for ln in out.splitlines() if ln.startswith("half ")]
    assert row == [["half", "gt", "0", "5", "10", "5", "-", "-", "-"]], out
    out, _ = run(["kafka-consumer-groups.sh", "--bootstrap-server", hp,
                  "--reset-offsets", "--group", "half", "--topic", "gt",
                  "--to-earliest", "--execute"])
    assert ["half", "gt", "0", "0"] in [ln.split() for ln in
                                        out.splitlines()], out
    out, _ = run(["kafka-console-consumer.sh", "--bootstrap-server", hp,
                  "--topic", "gt", "--group", "half", "--max-messages", "1"])
    assert out == "m0\n", "after reset to earliest: %r" % out
    run(["kafka-consumer-groups.sh", "--bootstrap-server", hp,
         "--reset-offsets", "--group", "half", "--topic", "gt",
         "--to-offset", "7", "--execute"])
    out, _ = run(["moldau", "group", "describe", "half",
                  "--bootstrap-server", hp])
    row = [ln.split() for ln in out.splitlines() if ln.startswith("half ")]
    assert row[0][3:6] == ["7", "10", "3"], out
    out, _ = run(["kafka-consumer-groups.sh", "--bootstrap-server", hp,
                  "--delete", "--group", "half"])
    assert "('half') was successful" in out, out
    one_error_line(["kafka-consumer-groups.sh", "--bootstrap-server", hp,
                    "--describe", "--group", "half"], r"does not exist")


def configs(hp):
    run(["moldau", "topic", "create", "ct", "--partitions", "2",
         "--bootstrap-server", hp])
    out, _ = run(["kafka-configs.sh", "--bootstrap-server", hp,
                  "--entity-type", "topics", "--entity-name", "ct", "--alter",
                  "--add-config", "retention.ms=1000,cleanup.policy=[delete,"
                  "compact]"])
    assert out == "Completed updating config for topic ct.\n", out
    out, _ = run(["kafka-configs.sh", "--bootstrap-server", hp,
                  "--entity-type", "topics", "--entity-name", "ct",
                  "--describe"])
    lines = out.splitlines()
    assert lines[0] == "Dynamic configs for topic ct are:", lines
    assert any(ln.startswith("  retention.ms=1000 sensitive=false "
                             "synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms"
                             "=1000") for ln in lines), lines
    assert any(ln.startswith("  cleanup.policy=delete,compact ")
               for ln in lines), lines
    run(["kafka-configs.sh", "--bootstrap-server", hp, "--entity-type",
         "topics", "--entity-name", "ct", "--alter", "--delete-config",
         "cleanup.policy"])
    out, _ = run(["moldau", "config", "get", "topic", "ct",
                  "--bootstrap-server", hp])
    assert "cleanup.policy" not in out and "retention.ms=1000" in out, out
    run(["moldau", "config", "set", "topic", "ct", "segment.ms=3600000",
         "--bootstrap-server", hp])
    out, _ = run(["kafka-configs.sh", "--bootstrap-server", hp,
                  "--entity-type", "topics", "--entity-name", "ct",
                  "--describe", "--all"])
    assert out.splitlines()[0] == "All configs for topic ct are:"
    assert "  segment.ms=3600000 " in out and "  retention.ms=1000 " in out
    assert "  max.message.bytes=1048588 " in out, out
    one_error_line(["kafka-configs.sh", "--bootstrap-server", hp,
                    "--entity-type", "topics", "--entity-name", "ct",
                    "--alter", "--add-config", "retention.ms=abc"],
                   r"Invalid value abc for configuration retention\.ms")
    out, _ = run(["kafka-configs.sh", "--bootstrap-server", hp,
                  "--entity-type", "brokers", "--entity-name", "1",
                  "--describe", "--all"])
    assert "  num.partitions=1 " in out, out


def offsets_and_records(b, hp):
    run(["kafka-topics.sh", "--bootstrap-server", hp, "--create", "--topic",
         "rec", "--partitions", "2"])
    lines = "".join("r%d\n" % i for i in range(6)).encode()
    run(["moldau", "produce", "rec", "--bootstrap-server", hp], input=lines)
    out, _ = run(["kafka-get-offsets.sh", "--bootstrap-server", hp,
                  "--topic", "rec"])
    ends = dict(ln.rsplit(":", 1) for ln in out.splitlines())
    assert set(ends) == {"rec:0", "rec:1"}, out
    assert sum(int(v) for v in ends.values()) == 6, out
    part, end = max(ends.items(), key=lambda kv: int(kv[1]))
    p = int(part.split(":")[1])
    path = os.path.join(b.dir, "del.json")
    with open(path, "w") as f:
        json.dump({"partitions": [{"topic": "rec", "partition": p,
                                   "offset": 2}], "version": 1}, f)
    out, _ = run(["kafka-delete-records.sh", "--bootstrap-server", hp,
                  "--offset-json-file", path])
    assert out.splitlines() == [
        "Executing records delete operation",
        "Records delete operation completed:",
        "partition: rec-%d\tlow_watermark: 2" % p], out
    out, _ = run(["kafka-get-offsets.sh", "--bootstrap-server", hp,
                  "--topic", "rec", "--time", "-2"])
    assert "rec:%d:2" % p in out.splitlines(), out
    out, _ = run(["moldau", "consume", "rec", "--partition", str(p),
                  "--offset", "earliest", "--timeout-ms", "3000",
                  "--bootstrap-server", hp])
    assert len(out.splitlines()) == int(end) - 2, out


def errors_and_help(hp):
    for s in SCRIPTS:
        out, _ = run([s + ".sh", "--help"])
        assert out.startswith("Usage: %s.sh" % s), (s, out[:80])
        one_error_line([s + ".sh", "--no-such-flag"], r"unknown option "
                       r"--no-such-flag")
    out, _ = run(["moldau", "--help"])
    assert "moldau topic create" in out
    one_error_line(["moldau", "frobnicate"], r"unknown command")
    one_error_line(["kafka-topics.sh", "--bootstrap-server", hp],
                   r"one of --create")
    one_error_line(["kafka-topics.sh", "--bootstrap-server", hp, "--create",
                    "--topic", "x", "--partitions", "zero"], r"--partitions")
    dead = "127.0.0.1:%d" % harness.free_port()
    one_error_line(["kafka-topics.sh", "--bootstrap-server", dead, "--list"],
                   r"cannot connect to bootstrap server " + re.escape(dead))
    one_error_line(["kafka-console-producer.sh", "--bootstrap-server", dead,
                    "--topic", "x"], r"cannot connect", input=b"a\n")
    one_error_line(["kafka-console-consumer.sh", "--bootstrap-server", hp,
                    "--topic", "no-such-topic", "--from-beginning"],
                   r"no-such-topic")


def test():
    assert os.access(MOLDAU, os.X_OK), "%s missing (build first)" % MOLDAU
    with Broker(sets=["broker.auto.create.topics.enable=false"]) as b:
        hp = b.bootstrap
        seed(hp)
        topics(hp)
        console_keys(hp)
        configs(hp)
        offsets_and_records(b, hp)
        groups(hp)
        errors_and_help(hp)


if __name__ == "__main__":
    harness.run(test)

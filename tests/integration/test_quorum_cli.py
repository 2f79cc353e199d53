"""moldau quorum describe and kafka-metadata-quorum.sh against three real
controllers (issue 5: the CLI, and acceptance 4: a broker stopped without
unregistering is fenced after the session timeout and the CLI shows it).

Two fake brokers register and heartbeat (struct-encoded, as in
test_controller_meta.py).  The CLI's answer is checked against a raw
DescribeQuorum; --status and --replication print Kafka's layouts; broker
102's heartbeats stop (no unregistration) and, after
cluster.broker.session.timeout.ms, moldau quorum describe lists it as
Fenced while 101 stays Unfenced.
"""

import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from test_controller import BUILD, describe_quorum  # noqa: E402
from test_controller_meta import SESSION_MS, Heartbeats, MetaQuorum, \
    logtext, register, wait_for  # noqa: E402

MOLDAU = os.path.join(BUILD, "tools", "moldau")
SRCDIR = os.environ.get("MOLDAU_SRCDIR",
                        os.path.join(os.path.dirname(__file__), "../.."))
WRAPPER = os.path.join(SRCDIR, "tools", "kafka-metadata-quorum.sh")


def run(av, rc=0):
    env = dict(os.environ)
    # the wrapper runs "moldau" from PATH when it is not beside it
    env["PATH"] = os.path.dirname(MOLDAU) + os.pathsep + env["PATH"]
    cp = subprocess.run(av, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        env=env, timeout=60)
    out, err = cp.stdout.decode(), cp.stderr.decode()
    assert cp.returncode == rc, "%s: exit %d (want %d)\n%s%s" % (
        av, cp.returncode, rc, out, err)
    return out, err


def status_fields(out):
    return dict((m.group(1), m.group(2).strip()) for m in
                re.finditer(r"^(\w+):[ \t]*(.*)$", out, re.M))


def table(out, header):
    """Rows (lists of columns) of the table whose header starts with
    header."""
    rows, inside = [], False
    for line in out.splitlines():
        if line.startswith(header):
            inside = True
            continue
        if inside:
            if not line.strip():
                break
            rows.append(line.split())
    return rows


def main():
    for b in (MOLDAU,):
        if not os.path.exists(b):
            print("missing " + b)
            return 1
    tmp = tempfile.mkdtemp(prefix="moldau-qcli-")
    q = MetaQuorum(tmp)
    ok = False
    hbs = []
    try:
        for n in (1, 2, 3):
            q.start(n)
        leader, epoch, _, _ = q.leader([1, 2, 3], time.time() + 20)
        follower = [n for n in (1, 2, 3) if n != leader][0]
        boot = "127.0.0.1:%d" % q.port(follower)
        for b in (101, 102):
            err, ep = register(q.port(leader), b)
            assert err == 0, "registration of %d: error %d" % (b, err)
            hb = Heartbeats(q, [1, 2, 3], b, ep)
            hb.start()
            hbs.append(hb)
        wait_for("brokers unfenced",
                 lambda: all(h.fenced is False for h in hbs), 15)

        # Usage errors.
        run([MOLDAU, "quorum", "describe"], rc=2)
        run([WRAPPER, "--bootstrap-controller", boot, "describe"], rc=2)
        run([WRAPPER, "--bootstrap-controller", boot, "list"], rc=2)
        _, err = run([MOLDAU, "quorum", "describe", "--bootstrap-controller",
                      "127.0.0.1:1"], rc=1)
        assert "no controller" in err, err

        # The whole picture, through a follower (once both brokers have
        # heartbeated to the leader: then they are its observers).
        def described():
            out, _ = run([MOLDAU, "quorum", "describe",
                          "--bootstrap-controller", boot])
            seen = sorted(int(r[0]) for r in table(out, "NodeId")
                          if r[-1] == "Observer")
            return out if seen == [101, 102] else None
        out = wait_for("both brokers as observers", described, 15)
        print(out)
        f = status_fields(out)
        _, rleader, repoch, rhw, rvoters = describe_quorum(q.port(leader))
        assert int(f["LeaderId"]) == rleader == leader, (f, rleader)
        assert int(f["LeaderEpoch"]) == repoch, (f, repoch)
        assert 0 < int(f["HighWatermark"]) <= rhw + 50, (f, rhw)
        assert f["CurrentVoters"] == "[%s]" % ",".join(
            str(v) for v in sorted(rvoters)) or \
            sorted(int(x) for x in f["CurrentVoters"].strip("[]").split(
                ",")) == sorted(rvoters), f
        rows = table(out, "NodeId")
        reps = [r for r in rows if r[-1] != "Observer"]
        assert sorted(int(r[0]) for r in reps) == [1, 2, 3], reps
        status = dict((int(r[0]), r[-1]) for r in reps)
        assert status[leader] == "Leader", status
        assert sorted(status.values()) == ["Follower", "Follower",
                                           "Leader"], status
        for r in reps:
            assert int(r[1]) >= 0 and int(r[2]) >= 0, r
        # the brokers heartbeating to the leader are its observers, at the
        # metadata offset they last reported
        obs = dict((int(r[0]), int(r[1])) for r in rows
                   if r[-1] == "Observer")
        assert sorted(obs) == [101, 102], rows
        assert all(0 <= o <= rhw + 50 for o in obs.values()), obs
        brokers = dict((int(r[0]), r[-1]) for r in table(out, "BrokerId"))
        assert brokers == {101: "Unfenced", 102: "Unfenced"}, brokers

        # Kafka's tool: --status and --replication.
        out, _ = run([WRAPPER, "--bootstrap-controller", boot, "describe",
                      "--status"])
        f = status_fields(out)
        for k in ("ClusterId", "LeaderId", "LeaderEpoch", "HighWatermark",
                  "MaxFollowerLag", "MaxFollowerLagTimeMs", "CurrentVoters",
                  "CurrentObservers"):
            assert k in f, (k, out)
        assert int(f["LeaderId"]) == leader, out
        assert "NodeId" not in out and "BrokerId" not in out, out
        out, _ = run([WRAPPER, "--bootstrap-server", boot, "describe",
                      "--replication"])
        assert out.splitlines()[0].split() == [
            "NodeId", "LogEndOffset", "Lag", "LastFetchTimestamp",
            "LastCaughtUpTimestamp", "Status"], out
        assert out.splitlines()[1].split()[0] == str(leader), out
        assert out.splitlines()[1].split()[-1] == "Leader", out
        print(out)

        # Acceptance 4: broker 102 stops without unregistering.
        hbs[1].stop.set()
        hbs[1].join()
        t0 = time.time()

        def fenced():
            o, _ = run([MOLDAU, "quorum", "describe",
                        "--bootstrap-controller", boot])
            b = dict((int(r[0]), r[-1]) for r in table(o, "BrokerId"))
            return o if b.get(102) == "Fenced" else None
        out = wait_for("broker 102 shown fenced", fenced,
                       SESSION_MS / 1000.0 + 20)
        took = time.time() - t0
        print(out)
        brokers = dict((int(r[0]), r[-1]) for r in table(out, "BrokerId"))
        assert brokers == {101: "Unfenced", 102: "Fenced"}, brokers
        assert took >= SESSION_MS / 1000.0 - 0.5, took
        assert "broker 102 sent no heartbeat" in logtext(tmp, leader)
        print("broker 102 fenced and shown so %.1f s after its last "
              "heartbeat (session timeout %d ms)" % (took, SESSION_MS))
        ok = True
    finally:
        for h in hbs:
            h.stop.set()
        q.finish(tmp, ok)
    print("test_quorum_cli: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Three moldau-controller processes on loopback elect a leader, commit
records (the leader's periodic NoOpRecords), survive SIGKILL of the leader
(a new leader in a later epoch with every committed offset) and take the
killed controller back (it catches up).  The quorum is observed with
DescribeQuorum over a raw socket.  Every wait has a deadline; children are
always reaped and the temporary directory removed."""

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("MOLDAU_BUILDDIR",
                       os.path.join(os.path.dirname(__file__), "../../build"))
BIN = os.path.join(BUILD, "controller", "moldau-controller")
TOPIC = b"__cluster_metadata"


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def uvarint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def read_uvarint(buf, pos):
    shift = val = 0
    while True:
        b = buf[pos]
        pos += 1
        val |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return val, pos


def describe_quorum(port, timeout=2.0):
    """DescribeQuorum v0: (error, leader, epoch, hw, {voter: leo})."""
    body = (uvarint(2) + uvarint(len(TOPIC) + 1) + TOPIC + uvarint(2) +
            struct.pack(">i", 0) + b"\0" + b"\0" + b"\0")
    hdr = struct.pack(">hhih", 55, 0, 7, 4) + b"test" + b"\0"
    msg = hdr + body
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(struct.pack(">i", len(msg)) + msg)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                raise OSError("closed")
            data += chunk
    buf = data[4:]
    corr, = struct.unpack_from(">i", buf, 0)
    assert corr == 7, corr
    pos = 4
    _, pos = read_uvarint(buf, pos)            # header tags
    pos += 2                                   # top-level error
    _, pos = read_uvarint(buf, pos)            # topics
    n, pos = read_uvarint(buf, pos)            # topic name
    pos += n - 1
    _, pos = read_uvarint(buf, pos)            # partitions
    _, err, leader, epoch, hw = struct.unpack_from(">ihiiq", buf, pos)
    pos += 22
    nv, pos = read_uvarint(buf, pos)
    voters = {}
    for _ in range(nv - 1):
        rid, leo = struct.unpack_from(">iq", buf, pos)
        pos += 12
        _, pos = read_uvarint(buf, pos)        # tags
        voters[rid] = leo
    return err, leader, epoch, hw, voters


class Quorum:
    def __init__(self, tmp):
        self.tmp = tmp
        self.ports = free_ports(3)
        self.voters = ",".join("%d@127.0.0.1:%d" % (i + 1, p)
                               for i, p in enumerate(self.ports))
        self.procs = {}

    def start(self, node):
        log = open(os.path.join(self.tmp, "c%d.log" % node), "ab")
        p = subprocess.Popen(
            [BIN, "--set", "node.id=%d" % node,
             "--set", "node.roles=controller",
             "--set", "cluster.controllers=" + self.voters,
             "--set", "node.data_dir=" + os.path.join(self.tmp, "c%d" % node)],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs[node] = p
        deadline = time.time() + 10
        while time.time() < deadline:
            with open(os.path.join(self.tmp, "c%d.log" % node)) as f:
                if "controller %d ready:" % node in f.read():
                    return
            if p.poll() is not None:
                raise AssertionError("controller %d exited" % node)
            time.sleep(0.05)
        raise AssertionError("controller %d not ready" % node)

    def port(self, node):
        return self.ports[node - 1]

    def leader(self, nodes, deadline, min_epoch=0):
        while time.time() < deadline:
            for n in nodes:
                try:
                    err, leader, epoch, hw, voters = describe_quorum(
                        self.port(n))
                except OSError:
                    continue
                if err == 0 and leader == n and epoch > min_epoch:
                    return n, epoch, hw, voters
            time.sleep(0.1)
        raise AssertionError("no leader among %s" % (nodes,))

    def finish(self, tmp, ok):
        """Stop every controller; on failure print the end of each log;
        remove tmp unless MOLDAU_KEEP_TMP is set."""
        self.stop_all()
        if not ok:
            for n in (1, 2, 3):
                path = os.path.join(tmp, "c%d.log" % n)
                if os.path.exists(path):
                    print("---- c%d.log" % n)
                    with open(path) as f:
                        print(f.read()[-4000:])
        if not os.environ.get("MOLDAU_KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)

    def stop_all(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def main():
    if not os.path.exists(BIN):
        print("missing " + BIN)
        return 1
    tmp = tempfile.mkdtemp(prefix="moldau-ctl-")
    q = Quorum(tmp)
    ok = False
    try:
        for n in (1, 2, 3):
            q.start(n)
        leader, epoch, hw, _ = q.leader([1, 2, 3], time.time() + 15)
        # Let the leader commit a few NoOpRecords.
        deadline = time.time() + 15
        while hw < 5 and time.time() < deadline:
            time.sleep(0.2)
            leader, epoch, hw, _ = q.leader([1, 2, 3], time.time() + 5)
        assert hw >= 5, "high watermark stuck at %d" % hw
        print("leader %d epoch %d hw %d" % (leader, epoch, hw))

        q.procs[leader].kill()
        q.procs[leader].wait()
        killed_at = time.time()
        rest = [n for n in (1, 2, 3) if n != leader]
        new, epoch2, hw2, _ = q.leader(rest, time.time() + 15,
                                       min_epoch=epoch)
        took = time.time() - killed_at
        print("new leader %d epoch %d hw %d after %.1fs" %
              (new, epoch2, hw2, took))
        assert took < 10, "election took %.1fs" % took
        assert hw2 >= hw, "committed offset went back: %d < %d" % (hw2, hw)

        # The new leader keeps committing.
        deadline = time.time() + 10
        while hw2 <= hw + 2 and time.time() < deadline:
            time.sleep(0.2)
            _, _, _, hw2, _ = describe_quorum(q.port(new))
        assert hw2 > hw + 2, "no progress under the new leader"

        # The killed controller rejoins and catches up.
        q.start(leader)
        deadline = time.time() + 15
        caught = False
        while time.time() < deadline and not caught:
            time.sleep(0.2)
            err, ld, _, hw3, voters = describe_quorum(q.port(new))
            caught = err == 0 and voters.get(leader, -1) >= hw2
        assert caught, "controller %d did not catch up: %s" % (leader,
                                                               voters)
        print("controller %d caught up: %s" % (leader, voters))
        ok = True
    finally:
        q.finish(tmp, ok)
    print("test_controller: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

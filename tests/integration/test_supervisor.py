"""moldaud: one supervisor runs the node's processes.

Starts moldaud on a temporary config tree (a main file, a conf.d drop-in
and --set overrides, broker on port 0), then checks: the broker child comes
up and serves kcat, `moldau status` lists the children, a SIGKILLed broker
is restarted on the same port with a higher restart count and clients work
again, the controller child speaks the supervisor IPC (running once ready,
live log level, restarted after SIGKILL, stopped over IPC), SIGHUP with a
broken tree is refused while the node keeps serving, a crash-looping child
is backed off, SIGTERM stops everything and exits 0 with no child left,
`moldaud --check` names file:line:key, and node.log_dir gets rotated log
files holding every process's lines.
"""

import json
import os
import re
import signal
import socket
import subprocess
import time

import harness

SUPERVISOR_BIN = os.path.join(harness.BUILDDIR, "supervisor", "moldaud")
MOLDAU_BIN = os.path.join(harness.BUILDDIR, "tools", "moldau")
READY_RE = re.compile(r"moldaud: broker pid (\d+) ready: "
                      r"PLAINTEXT://127\.0\.0\.1:(\d+)")

MAIN_YAML = """\
node:
  id: 1
  roles: [controller, broker, connect, streams]
  log_level: info
broker:
  num.partitions: 1
"""

DROPIN_YAML = """\
broker:
  num.partitions: 2
"""


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Node:
    """moldaud on a temp config tree; stderr in a file."""

    def __init__(self, sets=(), main=MAIN_YAML, dropin=DROPIN_YAML):
        assert os.access(SUPERVISOR_BIN, os.X_OK), \
            "%s missing (build first)" % SUPERVISOR_BIN
        self.dir = harness.mkdtemp("moldau-sup-")
        self.etc = os.path.join(self.dir, "etc")
        os.makedirs(os.path.join(self.etc, "conf.d"))
        self.config = os.path.join(self.etc, "moldau.yaml")
        self.write(main)
        if dropin is not None:
            with open(os.path.join(self.etc, "conf.d", "50-test.yaml"),
                      "w") as f:
                f.write(dropin)
        self.run_dir = os.path.join(self.dir, "run")
        # The controller listens on its cluster.controllers entry; a free
        # port of its own keeps parallel test runs apart.
        self.ctl_port = harness.free_port()
        self.sets = ["node.data_dir=" + os.path.join(self.dir, "data"),
                     "node.run_dir=" + self.run_dir,
                     "cluster.controllers=1@127.0.0.1:%d" % self.ctl_port,
                     "broker.listeners=PLAINTEXT://127.0.0.1:0"] + list(sets)
        self.errpath = os.path.join(self.dir, "moldaud.log")
        self.proc = None

    def write(self, text):
        with open(self.config, "w") as f:
            f.write(text)

    def argv(self):
        av = [SUPERVISOR_BIN, "--config", self.config]
        for s in self.sets:
            av += ["--set", s]
        return av

    def start(self):
        errf = open(self.errpath, "wb")
        try:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                         stdout=errf, stderr=errf,
                                         cwd=self.dir)
        finally:
            errf.close()
        harness._live_procs.append(self.proc)
        return self

    def log(self):
        with open(self.errpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_ready(self, count=1, timeout=harness.READY_TIMEOUT):
        """Wait for the count-th broker ready line; (pid, port)."""
        def ready():
            assert self.proc.poll() is None, \
                "moldaud exited %s\n%s" % (self.proc.returncode, self.log())
            m = READY_RE.findall(self.log())
            return m[count - 1] if len(m) >= count else None
        pid, port = harness.wait_for(ready, timeout, "broker ready #%d" %
                                     count)
        return int(pid), int(port)

    def status(self, via_config=False):
        """moldau status --json, finding the socket from the config tree
        (via_config) or given it (the tree may be broken on purpose)."""
        if via_config:
            where = ["--config", self.config, "--set",
                     "node.run_dir=" + self.run_dir]
        else:
            where = ["--socket", os.path.join(self.run_dir, "moldaud.sock")]
        cp = subprocess.run([MOLDAU_BIN, "status", "--json"] + where,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=30)
        assert cp.returncode == 0, "moldau status failed: %s" % cp.stderr
        st = json.loads(cp.stdout)
        st["by_role"] = {c["role"]: c for c in st["children"]}
        return st

    def stop(self, timeout=10.0):
        """SIGTERM; returns (exit status, seconds taken)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError("moldaud ignored SIGTERM for %.0fs\n%s" %
                                 (timeout, self.log()))
        finally:
            if self.proc in harness._live_procs:
                harness._live_procs.remove(self.proc)
        return rc, time.monotonic() - t0


def check_errors():
    """--check: each kind of bad tree fails with one file:line:key line."""
    d = harness.mkdtemp("moldau-check-")
    os.makedirs(os.path.join(d, "conf.d"))
    main = os.path.join(d, "moldau.yaml")
    with open(main, "w") as f:
        f.write("node:\n  id: 1\n")

    def check(dropin, want):
        with open(os.path.join(d, "conf.d", "10-x.yaml"), "w") as f:
            f.write(dropin)
        cp = subprocess.run([SUPERVISOR_BIN, "--config", main, "--check"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            timeout=30)
        err = cp.stderr.decode()
        lines = err.splitlines()
        assert cp.returncode == 1, "--check on %r: status %d" % (
            dropin, cp.returncode)
        assert len(lines) == 1 and re.search(want, lines[0]), \
            "--check on %r: %r does not match %r" % (dropin, err, want)
        harness.log("--check:", lines[0])

    prefix = re.escape(os.path.join(d, "conf.d", "10-x.yaml"))
    check("node:\n  idd: 2\n",
          prefix + r":2: node\.idd: unknown key \(did you mean id\?\)$")
    check("broker:\n  num.partitions: many\n",
          prefix + r":2: broker\.num\.partitions: expected an integer")
    check("broker:\n  listeners: [\"127.0.0.1:9092\"]\n",
          prefix + r":2: broker\.listeners: must be NAME://host:port")
    os.unlink(os.path.join(d, "conf.d", "10-x.yaml"))
    cp = subprocess.run([SUPERVISOR_BIN, "--config", main, "--check"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        timeout=30)
    assert cp.returncode == 0, cp.stderr
    assert b"configuration OK" in cp.stdout


def main_test():
    check_errors()

    node = Node().start()
    pid, port = node.wait_ready()
    boot = "127.0.0.1:%d" % port
    harness.log("moldaud pid %d, broker pid %d on %s" % (node.proc.pid, pid,
                                                        boot))
    harness.kcat(["-L", "-b", boot])
    harness.kcat_roundtrip_ok(boot, "sup-a")
    st = node.status(via_config=True)
    b = st["by_role"]["broker"]
    assert st["pid"] == node.proc.pid and st["state"] == "running", st
    assert b["state"] == "running" and b["pid"] == pid, b
    assert b["restarts"] == 0 and b["last_exit"] == "", b
    assert b["detail"] == "PLAINTEXT://" + boot, b
    # the controller speaks the supervisor IPC too: running once it said
    # ready, with the address it listens on
    def ctl_running():
        c = node.status()["by_role"]["controller"]
        return c if c["state"] == "running" else None
    c = harness.wait_for(ctl_running, 10, "controller ready")
    assert c["restarts"] == 0, c
    assert c["detail"] == "127.0.0.1:%d" % node.ctl_port, c
    assert re.search(r"moldaud: controller pid %d ready: 127\.0\.0\.1:%d" %
                     (c["pid"], node.ctl_port), node.log()), c
    ctl_pid = c["pid"]
    # roles with no binary yet are reported, not fatal
    for role in ("connect", "streams"):
        assert st["by_role"][role]["state"] == "unavailable", st
    # the drop-in overrode the main file: auto-created topics get 2
    cp = harness.kcat(["-L", "-b", boot, "-t", "sup-a", "-J"])
    assert len(json.loads(cp.stdout)["topics"][0]["partitions"]) == 2

    # A crash: restarted within 2 s on the same port, clients work again.
    os.kill(pid, signal.SIGKILL)
    t0 = time.monotonic()
    pid2, port2 = node.wait_ready(count=2, timeout=5)
    took = time.monotonic() - t0
    assert took < 2.0, "restart took %.2fs" % took
    assert pid2 != pid and port2 == port, (pid, pid2, port, port2)
    harness.kcat_roundtrip_ok(boot, "sup-b")
    b = node.status()["by_role"]["broker"]
    assert b["restarts"] == 1 and b["pid"] == pid2, b
    assert b["last_exit"] == "killed by signal 9 (Killed)", b
    harness.log("broker restarted in %.2fs as pid %d" % (took, pid2))

    # SIGHUP with a broken tree: refused, nothing restarted.
    good = open(node.config).read()
    node.write(good + "broker:\n  bogus.key: 1\n")
    os.kill(node.proc.pid, signal.SIGHUP)
    harness.wait_for(lambda: "reload refused" in node.log(), 5,
                     "reload refusal")
    assert re.search(r"moldau\.yaml:\d+: broker: duplicate|"
                     r"moldau\.yaml:\d+: broker\.bogus\.key", node.log()), \
        node.log()[-2000:]
    b = node.status()["by_role"]["broker"]
    assert b["pid"] == pid2 and b["restarts"] == 1, b
    harness.kcat_roundtrip_ok(boot, "sup-c")

    # SIGHUP with a good tree changing the log level: applied live.
    node.write(good.replace("log_level: info", "log_level: debug"))
    os.kill(node.proc.pid, signal.SIGHUP)
    harness.wait_for(lambda: "broker: log level now debug" in node.log(),
                     5, "live log level")
    assert node.status()["by_role"]["broker"]["pid"] == pid2
    # ... and reaches the controller through its IPC
    harness.wait_for(lambda: "controller: log level now debug" in node.log()
                     and " moldau-controller debug: " in node.log(),
                     5, "controller live log level")
    assert node.status()["by_role"]["controller"]["pid"] == ctl_pid

    # SIGHUP changing a topic default: an existing topic without an
    # override sees it live (DescribeConfigs), the broker is not restarted.
    def retention_ms():
        from confluent_kafka.admin import AdminClient, ConfigResource
        a = AdminClient({"bootstrap.servers": boot})
        fs = a.describe_configs([ConfigResource(ConfigResource.Type.TOPIC,
                                                "sup-a")])
        (res,) = fs.values()
        return res.result(timeout=15)["retention.ms"].value

    assert retention_ms() == str(168 * 3600 * 1000), retention_ms()
    reloads = node.log().count("broker: configuration reloaded")
    node.write(good.replace("log_level: info", "log_level: debug").replace(
        "  num.partitions: 1\n", "  num.partitions: 1\n"
        "  log.retention.hours: 5\n"))
    os.kill(node.proc.pid, signal.SIGHUP)
    harness.wait_for(lambda: node.log().count(
        "broker: configuration reloaded") > reloads, 5, "broker reload")
    assert retention_ms() == str(5 * 3600 * 1000), retention_ms()
    assert node.status()["by_role"]["broker"]["pid"] == pid2

    # A controller crash: restarted, ready again, restart count 1.
    os.kill(ctl_pid, signal.SIGKILL)

    def ctl_restarted():
        c = node.status()["by_role"]["controller"]
        return c if c["state"] == "running" and c["pid"] != ctl_pid else None
    c = harness.wait_for(ctl_restarted, 10, "controller restart")
    assert c["restarts"] == 1, c
    assert c["last_exit"] == "killed by signal 9 (Killed)", c
    assert c["detail"] == "127.0.0.1:%d" % node.ctl_port, c
    ctl_pid = c["pid"]
    harness.log("controller restarted as pid %d" % ctl_pid)

    # SIGTERM: the broker stops first (no controller binary), moldaud
    # exits 0 and leaves no child behind.
    rc, took = node.stop()
    assert rc == 0, "moldaud exit %s\n%s" % (rc, node.log()[-3000:])
    assert took < 10, "stop took %.1fs" % took
    assert not pid_alive(pid2), "broker pid %d left behind" % pid2
    assert "moldaud: stopping broker pid %d" % pid2 in node.log()
    assert "moldaud: all children stopped" in node.log()
    # dependency order: the broker goes before the controller, which
    # stops cleanly when asked over IPC
    order = [node.log().index("moldaud: stopping broker pid"),
             node.log().index("moldaud: stopping controller pid %d" %
                              ctl_pid)]
    assert order == sorted(order), "controller stopped before broker"
    assert "controller: stop requested by moldaud" in node.log()
    assert "moldaud: controller stopped (exited 0)" in node.log(), \
        node.log()[-3000:]
    assert not pid_alive(ctl_pid)
    assert not os.path.exists(os.path.join(node.run_dir, "moldaud.sock"))
    harness.log("SIGTERM: stopped in %.2fs" % took)

    crash_loop()
    orphan_exit()
    log_files()


def crash_loop():
    """A broker that cannot bind exits at once, again and again: the
    restarts are spaced out more and more and a crash loop is reported;
    once the port is free it comes up."""
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    node = Node(sets=["broker.listeners=PLAINTEXT://127.0.0.1:%d" % port])
    node.start()
    try:
        harness.wait_for(lambda: "broker is crash-looping" in node.log(), 20,
                         "crash loop report")
        st = node.status()["by_role"]["broker"]
        assert st["state"] == "crash-loop" and st["restarts"] >= 4, st
        assert st["last_exit"] == "exited 1", st
        delays = [int(x) for x in re.findall(
            r"broker (?:exited 1; restarting|is crash-looping.*next start)"
            r" in (\d+) ms", node.log())]
        assert delays[:5] == [250, 500, 1000, 2000, 4000], delays
        harness.log("crash loop backed off:", delays)
    finally:
        blocker.close()
    node.wait_ready(timeout=40)
    harness.kcat_roundtrip_ok("127.0.0.1:%d" % port, "sup-loop")
    rc, _ = node.stop()
    assert rc == 0


def orphan_exit():
    """moldaud killed outright: the broker sees its socket close and
    exits by itself."""
    node = Node().start()
    pid, _ = node.wait_ready()
    node.proc.kill()
    node.proc.wait(timeout=10)
    harness._live_procs.remove(node.proc)
    harness.wait_for(lambda: not pid_alive(pid), 10,
                     "broker %d to exit after moldaud died" % pid)


def log_files():
    """node.log_dir: moldaud's and the children's lines also go to
    log_dir/moldau.log, rotated at node.log_max_bytes, node.log_keep
    rotated files kept; stderr still gets every line."""
    max_bytes, keep = 2048, 3
    node = Node(main=MAIN_YAML.replace("log_level: info", "log_level: debug"))
    logdir = os.path.join(node.dir, "logs")
    node.sets += ["node.log_dir=" + logdir,
                  "node.log_max_bytes=%d" % max_bytes,
                  "node.log_keep=%d" % keep]
    node.start()
    pid, port = node.wait_ready()
    ready = re.compile(r"moldau-broker info: broker 1 ready: "
                       r"PLAINTEXT://127\.0\.0\.1:%d\n" % port)
    main = os.path.join(logdir, "moldau.log")

    def files():
        """{name: bytes} of the log files, checking the limits."""
        got = {}
        for name in os.listdir(logdir):
            with open(os.path.join(logdir, name), "rb") as f:
                got[name] = f.read()
        assert set(got) <= {"moldau.log"} | {
            "moldau.log.%d" % i for i in range(1, keep + 1)}, sorted(got)
        for name, data in got.items():
            longest = max(len(l) + 1 for l in data.split(b"\n"))
            assert len(data) <= max_bytes + longest, (name, len(data))
            assert data == b"" or data.endswith(b"\n"), name
        return got

    # the first rotation: the broker's ready line is in the files
    harness.wait_for(lambda: "moldau.log.1" in files(), 30,
                     "first log rotation")
    text = b"".join(files().values()).decode("utf-8", "replace")
    assert ready.search(text), text[-3000:]
    assert "moldaud info: moldaud: node 1 starting" in text, text[:2000]
    assert ready.search(node.log())
    # traffic makes more lines; old files are dropped, never more than keep
    first = files()["moldau.log.1"].split(b"\n")[0]
    rounds = []

    def dropped():
        rounds.append(1)
        harness.kcat_roundtrip_ok("127.0.0.1:%d" % port,
                                  "sup-logs-%d" % len(rounds))
        got = files()
        return len(got) == keep + 1 and not any(
            first in data for data in got.values())
    harness.wait_for(dropped, 60, "the oldest log file dropped",
                     interval=0.2)
    for name, data in files().items():
        harness.log("log file %s: %d bytes" % (name, len(data)))
    rc, _ = node.stop()
    assert rc == 0
    assert "moldaud: stopped" in files()["moldau.log"].decode()


if __name__ == "__main__":
    harness.run(main_test)

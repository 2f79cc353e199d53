"""Integration test harness: run a real moldau-broker on loopback.

Each test is a standalone script that imports this module, starts one or
more brokers in fresh temporary directories on ephemeral ports and drives
them with real clients (kcat, kafka-python, confluent-kafka).  Every wait
has a deadline; children are always reaped and temporary directories
removed, even when a test fails.

Environment: MOLDAU_BUILDDIR (default <repo>/build), MOLDAU_SRCDIR (default
<repo>), MOLDAU_TEST_TIMEOUT (seconds for a whole test, default 300),
MOLDAU_KEEP_TMP=1 keeps temporary directories for inspection.
"""

import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback


def _reexec_with_system_python():
    """The Debian client packages (python3-kafka, python3-confluent-kafka)
    live in the system interpreter; a python3 found first on PATH (pyenv,
    a virtualenv) may not see them.  Re-run the test with /usr/bin/python3
    then, rather than failing on an import."""
    syspy = "/usr/bin/python3"
    if os.environ.get("MOLDAU_NO_REEXEC") or not os.path.exists(syspy):
        return
    try:
        if os.path.samefile(sys.executable, syspy):
            return
    except OSError:
        pass
    try:
        import confluent_kafka  # noqa: F401
        import kafka  # noqa: F401
        return
    except ImportError:
        pass
    os.environ["MOLDAU_NO_REEXEC"] = "1"
    os.execv(syspy, [syspy] + sys.argv)


_reexec_with_system_python()

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("MOLDAU_SRCDIR") or os.path.dirname(
    os.path.dirname(HERE))
BUILDDIR = os.environ.get("MOLDAU_BUILDDIR") or os.path.join(SRCDIR, "build")
BROKER_BIN = os.path.join(BUILDDIR, "broker", "moldau-broker")
MOLDAUD_BIN = os.path.join(BUILDDIR, "supervisor", "moldaud")
# Nodes start as users start them: through moldaud, which runs the
# controller and the broker.  MOLDAU_HARNESS_DIRECT=1 starts a lone broker.
SUPERVISED = not os.environ.get("MOLDAU_HARNESS_DIRECT")
READY_RE = re.compile(r"ready: PLAINTEXT://([0-9.]+):([0-9]+)")
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0

_live_procs = []
_tmp_dirs = []


def log(*args):
    print("[%s]" % time.strftime("%H:%M:%S"), *args, flush=True)


def _cleanup():
    for p in list(_live_procs):
        if p.poll() is None:
            p.kill()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        _live_procs.remove(p)
    if os.environ.get("MOLDAU_KEEP_TMP"):
        for d in _tmp_dirs:
            log("keeping", d)
        return
    for d in _tmp_dirs:
        shutil.rmtree(d, ignore_errors=True)
    del _tmp_dirs[:]


atexit.register(_cleanup)


def mkdtemp(prefix="moldau-test-"):
    d = tempfile.mkdtemp(prefix=prefix)
    _tmp_dirs.append(d)
    return d


def wait_for(pred, timeout, what, interval=0.05):
    """Poll pred() until it returns a true value (returned) or the deadline
    passes (AssertionError naming what)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" %
                                 (timeout, what))
        time.sleep(interval)


def free_port():
    """A port the kernel just handed out; only for tests that must name
    several ports up front (the broker itself binds port 0)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class Broker:
    """One moldau-broker process in its own temporary directory.

    sets: extra "section.key=value" overrides passed as --set.
    config: text of a YAML config file written into the temp dir.
    """

    def __init__(self, sets=(), config=None, name="broker"):
        assert os.access(BROKER_BIN, os.X_OK), \
            "broker binary %s missing (build first)" % BROKER_BIN
        self.supervised = SUPERVISED
        if self.supervised:
            assert os.access(MOLDAUD_BIN, os.X_OK), \
                "supervisor binary %s missing (build first)" % MOLDAUD_BIN
        self.ctl_port = free_port()
        self.name = name
        self.dir = mkdtemp("moldau-%s-" % name)
        self.data_dir = os.path.join(self.dir, "data")
        self.sets = list(sets)
        self.config_path = None
        if config is not None:
            self.config_path = os.path.join(self.dir, "moldau.yaml")
            with open(self.config_path, "w") as f:
                f.write(config)
        self.proc = None
        self.host = None
        self.port = 0
        self.starts = 0
        self.stderr_path = None

    def node_id(self):
        """node.id from the --set overrides or the config text (1 when
        neither says): the controller entry must carry this node's id."""
        for s in reversed(self.sets):
            if s.startswith("node.id="):
                return int(s.split("=", 1)[1])
        if self.config_path:
            with open(self.config_path) as f:
                text = f.read()
            m = re.search(r"^node:\s*\n(?:[ \t]+.*\n|\s*\n)*?[ \t]+id:\s*(\d+)",
                          text, re.M)
            if m:
                return int(m.group(1))
        return 1

    # -- lifecycle ----------------------------------------------------
    def argv(self):
        av = [MOLDAUD_BIN if self.supervised else BROKER_BIN]
        if self.supervised:
            # the controller on a port of its own: parallel runs stay apart
            av += ["--set", "node.run_dir=" + os.path.join(self.dir, "run"),
                   "--set",
                   "cluster.controllers=%d@127.0.0.1:%d" %
                   (self.node_id(), self.ctl_port)]
        if self.config_path:
            av += ["--config", self.config_path]
        av += ["--set", "node.data_dir=" + self.data_dir,
               "--set", "broker.listeners=PLAINTEXT://127.0.0.1:%d" %
               self.port]
        for s in self.sets:
            av += ["--set", s]
        return av

    def start(self):
        assert self.proc is None or self.proc.poll() is not None, \
            "broker already running"
        self.starts += 1
        self.stderr_path = os.path.join(self.dir,
                                        "stderr.%d.log" % self.starts)
        errf = open(self.stderr_path, "wb")
        try:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                         stdout=errf, stderr=errf,
                                         cwd=self.dir)
        finally:
            errf.close()
        _live_procs.append(self.proc)
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            m = READY_RE.search(self.stderr())
            if m:
                break
            rc = self.proc.poll()
            if rc is not None:
                self._reap()
                raise AssertionError(
                    "%s exited with status %d before ready; argv=%s\n"
                    "--- stderr ---\n%s" % (self.name, rc, self.argv(),
                                             self.stderr()))
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(
                    "%s not ready after %.0fs; argv=%s\n--- stderr ---\n%s" %
                    (self.name, READY_TIMEOUT, self.argv(), self.stderr()))
            time.sleep(0.02)
        self.host = m.group(1)
        port = int(m.group(2))
        assert port != 0, "ready line names port 0"
        if self.port:
            assert port == self.port, \
                "restarted on port %d, expected %d" % (port, self.port)
        self.port = port
        log("%s pid %d ready on %s (start %d)" %
            (self.name, self.proc.pid, self.bootstrap, self.starts))
        return self

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr(self):
        if not self.stderr_path:
            return ""
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr_tail(self, n=60):
        return "\n".join(self.stderr().splitlines()[-n:])

    def _reap(self):
        if self.proc in _live_procs:
            _live_procs.remove(self.proc)

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, wait up to timeout, then SIGKILL.  Returns the exit
        status (negative signal number if killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log("%s ignored SIGTERM for %.0fs, killing" %
                    (self.name, timeout))
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._reap()
        return self.proc.returncode

    def children(self):
        """{command name: pid} of the supervisor's children."""
        out = {}
        path = "/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)
        try:
            with open(path) as f:
                pids = [int(x) for x in f.read().split()]
        except OSError:
            return out
        for pid in pids:
            try:
                with open("/proc/%d/comm" % pid) as f:
                    out[f.read().strip()] = pid
            except OSError:
                pass
        return out

    def kill(self):
        """SIGKILL (a crash) of the whole node; returns the exit status.
        Supervised: the supervisor is frozen first so that it neither
        restarts the broker nor stops it cleanly, then everything dies."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            if self.supervised:
                os.kill(self.proc.pid, signal.SIGSTOP)
                for pid in self.children().values():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._reap()
        return self.proc.returncode

    def restart(self, kill=False):
        """Stop (SIGTERM, or SIGKILL if kill) and start again on the same
        data dir and port; returns the stop status."""
        rc = self.kill() if kill else self.stop()
        self.start()
        return rc

    def cpu_seconds(self):
        """utime+stime of the broker process, from /proc/PID/stat."""
        pid = self.proc.pid
        if self.supervised:
            pid = self.children()["moldau-broker"]
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / float(ticks)

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            print("--- %s stderr (tail) ---\n%s\n---" % (
                self.name, self.stderr_tail()), flush=True)
        rc = self.stop()
        if exc[0] is None:
            assert rc == 0, "%s exited with status %s on SIGTERM\n%s" % (
                self.name, rc, self.stderr_tail())
        return False


# -- kcat ------------------------------------------------------------------
KCAT = shutil.which("kcat") or shutil.which("kafkacat") or "kcat"


def kcat(args, input=None, timeout=60, check=True):
    """Run kcat with args (list), feeding input (bytes); returns the
    CompletedProcess (stdout/stderr bytes).  check: assert exit status 0."""
    av = [KCAT] + list(args)
    try:
        cp = subprocess.run(av, input=input, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("kcat timed out after %ss: %s\nstderr: %s" % (
            timeout, av, (e.stderr or b"")[-4000:].decode("utf-8",
                                                          "replace")))
    if check:
        assert cp.returncode == 0, "kcat failed (%d): %s\nstderr: %s" % (
            cp.returncode, av,
            cp.stderr[-4000:].decode("utf-8", "replace"))
    return cp


def kcat_roundtrip_ok(bootstrap, topic, n=10):
    """A fresh kcat producer and consumer still work: produce n messages to
    topic and read back exactly those from the start (topic must be new or
    empty).  Asserts on failure."""
    lines = [b"%s-%d" % (topic.encode(), i) for i in range(n)]
    kcat(["-P", "-b", bootstrap, "-t", topic, "-p", "0"],
         input=b"\n".join(lines) + b"\n")
    cp = kcat(["-C", "-b", bootstrap, "-t", topic, "-p", "0", "-o",
               "beginning", "-e", "-q", "-f", "%s\\n"])
    got = cp.stdout.splitlines()
    assert got == lines, "kcat round trip on %s: got %r" % (topic, got[:20])


# -- running a test --------------------------------------------------------
class TestTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise TestTimeout("test exceeded its time limit")


def run(fn, timeout=None):
    """Run fn() as the test body: exit 0 on success, 1 on any failure with
    the traceback (and each broker's stderr tail, when fn raises with
    brokers alive).  The whole test is bounded by timeout seconds."""
    if timeout is None:
        timeout = int(os.environ.get("MOLDAU_TEST_TIMEOUT", "300"))
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
    name = os.path.basename(sys.argv[0])
    t0 = time.monotonic()
    try:
        fn()
    except BaseException:
        signal.alarm(0)
        traceback.print_exc()
        print("FAIL: %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
        _cleanup()
        sys.stdout.flush()
        os._exit(1)
    signal.alarm(0)
    print("PASS: %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
    _cleanup()
    sys.stdout.flush()
    sys.exit(0)

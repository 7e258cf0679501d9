"""The stall-fs program (client-demo/stall_fs.h) for the tests: a FUSE file
system whose daemon holds reads (--stall=data) or, once its file is open,
also the file's getattr and statfs (--stall=all), until it is stopped.

Every wait here is bounded, and a StallFs is always stopped: SIGTERM makes
the daemon answer what it holds with EIO, unmount and exit 0; SIGKILL, the
last resort, closes the FUSE device, which aborts every request, and
fusermount3's auto_unmount takes the mount down. Either way no process stays
frozen and no mount stays behind.
"""
import ctypes
import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import time

from run import Failure, Skip, check, log

# Where a thread waits when a FUSE daemon does not answer, as this kernel
# (6.18) names it in /proc/PID/task/TID/wchan: a metadata request or a
# read it sent itself (request_wait_answer, state S, and SIGKILL does not
# end it), or the page lock of a read the kernel sent ahead
# (folio_wait_bit_common, state D).
FUSE_WAIT_CHANNELS = re.compile(r"^(request_wait_answer|folio_wait_bit_common|fuse_\w+|"
                                r"wait_on_page_bit\w*|__folio_lock\w*)$")


PR_SET_PDEATHSIG = 1


def die_with_parent():
    """In the child: SIGTERM when the test process dies (a test killed by
    its time limit), so that the daemon still answers, unmounts and ends."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def fuse_usable(program):
    """Raise Skip unless stall-fs is built and FUSE can be mounted here."""
    if not program or not os.path.exists(program):
        raise Skip("stall-fs is not built (needs libfuse3: Debian package libfuse3-dev)")
    try:
        os.close(os.open("/dev/fuse", os.O_RDWR))
    except OSError as e:
        raise Skip(f"/dev/fuse cannot be used here: {e.strerror}")
    if os.geteuid() != 0 and shutil.which("fusermount3") is None:
        raise Skip("not root and no fusermount3 (Debian package fuse3) to mount with")


def mounted(path):
    """Whether @path is a mount point in this mount namespace, read from
    /proc/self/mountinfo (a stat() of a FUSE mount may wait on its daemon)."""
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def thread_name(pid, tid):
    try:
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def waiting_threads(pid, besides=()):
    """The threads of @pid that wait in the kernel on a FUSE daemon or in
    uninterruptible sleep, but those named in @besides: [(tid, state,
    wchan)]."""
    found = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            with open(f"/proc/{pid}/task/{tid}/wchan") as f:
                wchan = f.read().strip()
        except OSError:
            continue
        if (state == "D" or FUSE_WAIT_CHANNELS.match(wchan)) and \
                thread_name(pid, tid) not in besides:
            found.append((int(tid), state, wchan))
    return found


def kernel_stack(pid, tid):
    """The function names of a thread's kernel stack (root only), innermost
    first, or [] when it cannot be read."""
    try:
        with open(f"/proc/{pid}/task/{tid}/stack") as f:
            return [m[1] for m in re.finditer(r"\] (\w+)", f.read())]
    except OSError:
        return []


class StallFs:
    """One stall-fs mount in a private temporary directory; .file is the
    path of its one file. Stop it with stop() (checked) or close()."""

    def __init__(self, program, mode="data", size=None):
        self.dir = tempfile.mkdtemp(prefix="shmguard-fuse-")
        self.file = os.path.join(self.dir, "pool")
        self.mode = mode
        self.log_path = self.dir + ".log"
        self.final_text = None
        cmd = [program, f"--stall={mode}"]
        if size is not None:
            cmd += ["--size", str(size)]
        cmd.append(self.dir)
        log("$ " + " ".join(cmd) + " &")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log, text=True,
                                     preexec_fn=die_with_parent)
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        line = self.proc.stdout.readline() if selector.select(10) else ""
        if line != "ready\n":
            self.close()
            raise Failure(f"stall-fs did not mount in 10 s (said {line!r}): {self.text()}")
        check(mounted(self.dir), f"stall-fs said ready but {self.dir} is not a mount point")

    def text(self):
        """What the daemon said on stderr (kept once its log is removed)."""
        if self.final_text is not None:
            return self.final_text
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def held(self):
        """How many requests the daemon held, from its exit line."""
        m = re.search(r"(\d+) requests held", self.text())
        return int(m[1]) if m else None

    def stop(self, timeout=10):
        """SIGTERM: held requests answered with EIO, unmounted, exit 0.
        Asserts all three."""
        check(self.proc.poll() is None, f"stall-fs ended early ({self.proc.returncode}): "
              f"{self.text()}")
        self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise Failure(f"stall-fs did not exit within {timeout} s of SIGTERM")
        check(status == 0, f"stall-fs exited with {status}: {self.text()}")
        self._wait_unmounted(5)
        log(f"stall-fs ({self.mode}) stopped: {self.held()} requests held, unmounted")
        self._cleanup()

    def _wait_unmounted(self, seconds):
        end = time.monotonic() + seconds
        while mounted(self.dir):
            check(time.monotonic() < end, f"{self.dir} still mounted after stall-fs ended")
            time.sleep(0.05)

    def close(self):
        """Whatever happened: end the daemon (SIGTERM, then SIGKILL) and
        make sure nothing stays mounted. Safe to call twice."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        end = time.monotonic() + 5
        while mounted(self.dir) and time.monotonic() < end:
            time.sleep(0.05)
        if mounted(self.dir):
            subprocess.run(["umount", "-l", self.dir], stderr=subprocess.DEVNULL)
        self._cleanup()

    def _cleanup(self):
        self.proc.stdout.close()
        self._log.close()
        if self.final_text is None:
            self.final_text = self.text()
            try:
                os.unlink(self.log_path)
            except OSError:
                pass
        try:
            os.rmdir(self.dir)
        except OSError:
            pass

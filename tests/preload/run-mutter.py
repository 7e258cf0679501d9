#!/usr/bin/env python3
"""GNOME's mutter serving wl_shm through libshmguard-preload.so.

    run-mutter.py --compositor MUTTER --client PATH --hostile PATH --preload PATH --stall-fs PATH TEST

mutter runs headless with a virtual monitor and no GPU (its surfaceless
renderer), on a D-Bus session bus of its own:

    mutter --headless --wayland --no-x11 --virtual-monitor 1280x720

with the preload in LD_PRELOAD, and, where a test compares, without it:
libwayland's own wl_shm. The hostile-client tests of tests/hostile run on
it through MutterBench, as run-weston.py runs them on weston. mutter has
no screenshot tool a test can use (no weston-screenshooter, no
wlr-screencopy), so "shown" is what hostile-client sees: the frame
callback of its commit. The harness (private XDG_RUNTIME_DIR, time limits,
the fd-leak check and a clean exit at the end) is tests/integration/run.py's.

A test is skipped (77) when mutter, dbus-daemon or the preload is missing,
or mutter is not a version the tests know (48: Debian 13; 51: unstable).

Exit status: 0 passed, 1 failed, 77 skipped (Meson's convention).
"""
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import run  # noqa: E402
from run import Failure, Session, Skip, check, log, run_one  # noqa: E402


def load(name, path):
    """A script of ours whose file name is not a module name."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hostile = load("run_hostile", os.path.join("..", "hostile", "run-hostile.py"))
weston = load("run_weston", "run-weston.py")
attack, finish, healthy = hostile.attack, hostile.finish, hostile.healthy
PROTOCOL_ERROR, CONNECTED, CONNECTION_LOST, TIMEOUT = (
    hostile.PROTOCOL_ERROR, hostile.CONNECTED, hostile.CONNECTION_LOST, hostile.TIMEOUT)
INVALID_FD, INVALID_STRIDE = hostile.INVALID_FD, hostile.INVALID_STRIDE

PRELOAD_SAYS = weston.PRELOAD_SAYS

# The mutter versions whose behaviour these tests state.
MUTTER_VERSIONS = (48, 51)


def mutter_version(name):
    """(path, major version) of mutter, or Skip."""
    path = shutil.which(name)
    if path is None:
        raise Skip(f"{name} not installed (Debian package mutter)")
    version = subprocess.run([path, "--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True).stdout.strip()
    m = re.match(r"mutter (\d+)\.", version)
    if not m or int(m[1]) not in MUTTER_VERSIONS:
        raise Skip(f"{version}: these tests state what mutter "
                   f"{', '.join(map(str, MUTTER_VERSIONS))} (Debian 13, unstable) do")
    return path, int(m[1])


class MutterSession(Session):
    """mutter headless in a Session's runtime directory, on a private
    session bus, with the preload (preload=True) or libwayland's wl_shm."""

    def __init__(self, args, preload):
        super().__init__(args)
        self.preload = preload
        self.version = None
        self.bus = None

    def start_bus(self):
        """A dbus-daemon of our own: mutter wants a session bus, and
        dbus-run-session would stand between us and mutter's pid."""
        daemon = shutil.which("dbus-daemon")
        if daemon is None:
            raise Skip("dbus-daemon not installed (Debian package dbus-daemon)")
        self.bus = subprocess.Popen([daemon, "--session", "--nofork", "--nopidfile",
                                     "--print-address=1"], env=self.env,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    text=True)
        address = self._readline_with_timeout(self.bus.stdout, 10).strip()
        check(address, "dbus-daemon printed no address")
        self.env["DBUS_SESSION_BUS_ADDRESS"] = address
        self.client_env["DBUS_SESSION_BUS_ADDRESS"] = address

    def compositor_env(self):
        env = dict(self.env)
        # Settings in memory; no per-user state of the machine's.
        env["GSETTINGS_BACKEND"] = "memory"
        env["XDG_CONFIG_HOME"] = self.path("config")
        env["XDG_DATA_HOME"] = self.path("data")
        env["XDG_CACHE_HOME"] = self.path("cache")
        if self.preload:
            env["LD_PRELOAD"] = ":".join(weston.preload_libraries(self.args.preload))
            env["ASAN_OPTIONS"] = env["ASAN_OPTIONS"] + \
                ":detect_leaks=0:fast_unwind_on_malloc=1"
        return env

    def start_compositor(self, open_files=None):
        mutter, self.version = mutter_version(self.args.compositor)
        weston.preload_libraries(self.args.preload)
        self.start_bus()
        env = self.compositor_env()
        cmd = [mutter, "--headless", "--wayland", "--no-x11", "--virtual-monitor", "1280x720",
               "--wayland-display", self.socket]
        log(f"mutter with LD_PRELOAD={env['LD_PRELOAD']}" if "LD_PRELOAD" in env
            else "mutter without LD_PRELOAD")
        self.launch_compositor(cmd, open_files=open_files, env=env, stdout=subprocess.DEVNULL)
        end = time.monotonic() + 30
        while not os.path.exists(self.path(self.socket)):
            check(self.compositor_alive(),
                  f"mutter exited at start ({self.compositor.returncode})")
            check(time.monotonic() < end, "mutter did not create its socket")
            time.sleep(0.05)
        self.fds_at_start = self._settled_fds()
        said = re.search(PRELOAD_SAYS, self.compositor_text(), re.M)
        if self.preload:
            check(said, "mutter does not say that libshmguard-preload serves its wl_shm")
        else:
            check("libshmguard-preload" not in self.compositor_text(),
                  "the preload is in a mutter meant to run without it")

    def compositor_fds(self):
        """mutter's fds but its timerfds: it arms and drops those at its own
        pace (frame clocks, idle timers), with or without clients; what a
        client can make it hold (pool files, sockets) is all counted."""
        fds = []
        for fd in super().compositor_fds():
            try:
                target = os.readlink(f"/proc/{self.compositor.pid}/fd/{fd}")
            except OSError:
                continue
            if target != "anon_inode:[timerfd]":
                fds.append(fd)
        return fds

    def _settled_fds(self):
        """mutter's fds once its start-up is over: unchanged for 1 s."""
        end = time.monotonic() + 20
        fds, since = self.compositor_fds(), time.monotonic()
        while time.monotonic() - since < 1.0:
            check(self.compositor_alive(), f"mutter died ({self.compositor.returncode})")
            check(time.monotonic() < end, "mutter's fds did not settle within 20 s")
            time.sleep(0.1)
            now = self.compositor_fds()
            if now != fds:
                fds, since = now, time.monotonic()
        return fds

    def stop_bus(self):
        if self.bus is not None and self.bus.poll() is None:
            self.bus.terminate()
            try:
                self.bus.wait(10)
            except subprocess.TimeoutExpired:
                self.bus.kill()
                self.bus.wait()

    def stop_compositor(self, check_fds=True):
        try:
            super().stop_compositor(check_fds)
        finally:
            self.stop_bus()

    def close(self, failed):
        super().close(failed)
        self.stop_bus()


class MutterBench(hostile.Bench):
    """The hostile tests' Bench on mutter: compositor() starts mutter with
    the preload, compositor("--builtin-shm") without it."""

    # The preload's fault line on mutter's stderr.
    FAULT_LOGGED = weston.WestonBench.FAULT_LOGGED
    ODD_STRIDE_SHOWN = True
    # The preload keeps libwayland's bound on create_buffer.
    LAST_ROW_NEEDS_WHOLE_STRIDE = True

    def session(self, preload):
        s = MutterSession(self.args, preload)
        s.builtin = not preload
        self.sessions.append(s)
        return s

    def compositor(self, *extra, screenshot=False, open_files=None):
        check(set(extra) <= {"--builtin-shm"}, f"mutter has no {extra}")
        check(not screenshot, "no screenshot tool works with mutter")
        s = self.session(preload="--builtin-shm" not in extra)
        s.start_compositor(open_files=open_files)
        return s


def expect_death(s, signum, what):
    """mutter (without the preload) died of @signum."""
    try:
        status = s.compositor.wait(10)
    except subprocess.TimeoutExpired:
        raise Failure(f"[libwayland] mutter still runs after {what}")
    check(status == -signum,
          f"[libwayland] mutter ended with status {status}, not by {signum.name}")
    log(f"[libwayland] mutter died of {signum.name} after {what}")


# -- the tests ----------------------------------------------------------

def test_mutter_weston_simple_shm(bench):
    """weston-simple-shm shows frames on mutter for 3 s, with the preload
    and without."""
    for preload in (True, False):
        run.test_weston_simple_shm(bench.session(preload))


def test_mutter_sealed_resize(bench):
    """A pool over a memfd sealed against shrinking and growing, resized to
    8 times the file, a buffer in the new part, attached and committed.
    With the preload: wl_shm_pool invalid_fd at the resize, and mutter
    goes on. libwayland never guards a shrink-sealed pool: mutter's upload
    of the buffer reads past the end of the file and mutter dies of
    SIGBUS."""
    s = bench.compositor()
    attack(s, "sealed-resize", status=PROTOCOL_ERROR, error=("wl_shm_pool", INVALID_FD),
           message=r"^resize past the end of the file")
    finish(s)

    b = bench.compositor("--builtin-shm")
    attack(b, "sealed-resize", status=CONNECTION_LOST, message=r"^connection lost", dies=True)
    expect_death(b, signal.SIGBUS, "a buffer past the end of a sealed file was uploaded")


def test_mutter_truncate_after_destroy(bench):
    """Show a buffer, destroy the wl_buffer and the pool, truncate the
    file, commit damage.

    mutter 48 copied the pixels into its texture when the buffer was
    committed and reads the file no more: the client stays connected,
    with the preload and without.

    mutter 51 keeps the buffer with wl_shm_buffer_ref() (libwayland 1.24)
    and reads it again after the wl_buffer is gone. With the preload the
    read sees zeros and the client gets invalid_fd on its wl_shm (its
    wl_buffer and pool are gone). libwayland 1.26 catches the fault, then
    posts its error on the destroyed wl_buffer's freed resource: the
    client is disconnected by an error on object 0, which it never had
    (valgrind shows the reads of freed memory, docs/preload.md)."""
    s = bench.compositor()
    if s.version < 51:
        for b in (s, bench.compositor("--builtin-shm")):
            attack(b, "truncate-after-destroy", status=CONNECTED,
                   message=r"^redrawn: frame callback(.|\n)*^still connected")
            finish(b)
        return
    attack(s, "truncate-after-destroy", status=PROTOCOL_ERROR, error=("wl_shm", INVALID_FD),
           message=hostile.TRUNCATED)
    finish(s)

    b = bench.compositor("--builtin-shm")
    attack(b, "truncate-after-destroy", status=PROTOCOL_ERROR,
           message=r"^protocol error: interface \?, object 0, code 2 \(\?\), "
                   r"message \"error accessing SHM buffer\"")
    finish(b)


def test_mutter_resize_redraw(bench):
    """A client grows its file and pool, paints new pixels into the shown
    buffer and commits damage alone. mutter read the buffer at its commit,
    not at repaint, so the move of libwayland's mapping at resize does it
    no harm: it survives with and without the preload."""
    for extra in ((), ("--builtin-shm",)):
        s = bench.compositor(*extra)
        attack(s, "resize-redraw", status=CONNECTED,
               message=r"^redrawn: frame callback(.|\n)*^still connected")
        finish(s)


def test_mutter_stride_too_short(bench):
    """Strides shorter than a row of the format, and one that is not a
    whole number of pixels: with the preload wl_shm_pool invalid_stride
    for each. libwayland accepts all three (stride compared with the width
    in pixels)."""
    s = bench.compositor()
    for numbers in [(0, 16, 16, 60, hostile.POOL), (0, 256, 16, 256, 4096),
                    (0, 16, 16, 62, hostile.POOL)]:
        *geometry, pool = numbers
        attack(s, "buffer", *geometry, "0x1", pool, status=PROTOCOL_ERROR,
               error=("wl_shm_pool", INVALID_STRIDE),
               message=r"^stride \d+ is (shorter than a row|not a multiple)")
    finish(s)

    b = bench.compositor("--builtin-shm")
    attack(b, "buffer", 0, 16, 16, 60, "0x1", hostile.POOL, status=CONNECTED,
           message=r"^create_buffer accepted(.|\n)*^shown: frame callback")
    # Rows 256 bytes apart in a 4096-byte pool: mutter reads 1536 bytes
    # past the pool's mapping. Both outcomes were seen on mutter 51: shown
    # (with whatever lies there), or mutter dead, where the next page is
    # not mapped.
    try:
        attack(b, "buffer", 0, 256, 16, 256, "0x1", 4096, status=CONNECTED,
               message=r"^create_buffer accepted(.|\n)*^shown: frame callback")
    except Failure as e:
        check("exit 4" in str(e), f"[libwayland] neither shown nor a dead compositor: {e}")
        status = b.compositor.wait(10)
        check(status is not None and status != 0,
              f"[libwayland] the connection was lost but mutter ended with status {status}")
        log(f"[libwayland] mutter died reading past the pool (status {status})")
        return
    finish(b)


def shown(s, kind):
    """hostile-client shows a buffer over an fd of @kind: frame callback."""
    attack(s, "show", "--fd", kind, status=CONNECTED,
           message=r"^shown: frame callback(.|\n)*^still connected")


def test_mutter_read_only_shown(bench):
    """A pool over a read-only fd: shown with the preload (a private
    view), wl_shm invalid_fd with libwayland (EACCES on its PROT_WRITE
    mapping)."""
    s = bench.compositor()
    shown(s, "read-only")
    finish(s)

    b = bench.compositor("--builtin-shm")
    attack(b, "show", "--fd", "read-only", status=PROTOCOL_ERROR,
           error=("wl_shm", INVALID_FD), message=r"^failed mmap fd \d+: Permission denied")
    finish(b)


def test_mutter_write_sealed_shown(bench):
    """memfds sealed with F_SEAL_WRITE and F_SEAL_FUTURE_WRITE: shown with
    the preload, wl_shm invalid_fd (EPERM) with libwayland."""
    s = bench.compositor()
    for kind in ("write-sealed", "future-write-sealed"):
        shown(s, kind)
    finish(s)

    b = bench.compositor("--builtin-shm")
    for kind in ("write-sealed", "future-write-sealed"):
        attack(b, "show", "--fd", kind, status=PROTOCOL_ERROR,
               error=("wl_shm", INVALID_FD),
               message=r"^failed mmap fd \d+: Operation not permitted")
    finish(b)


# The hostile tests that need no screenshot and no screen capture, run
# unchanged.
HOSTILE_TESTS = (
    "truncate-after-show",
    "truncate-before-commit",
    "truncate-race",
    "pool-larger-than-file",
    "resize-past-end",
    "resize-shrink",
    "non-file-fds",
    "bad-geometry",
    "unknown-format",
    "many-pools",
    "many-pools-low-fd-limit",
    "fuse-data-stall",
    "fuse-metadata-stall",
    "fuse-overlay",
    "fuse-flush-stall",
    "hugetlb-truncate",
)

TESTS = {"mutter-" + name: hostile.TESTS[name] for name in HOSTILE_TESTS}
TESTS.update({
    "mutter-weston-simple-shm": test_mutter_weston_simple_shm,
    "mutter-sealed-resize": test_mutter_sealed_resize,
    "mutter-truncate-after-destroy": test_mutter_truncate_after_destroy,
    "mutter-resize-redraw": test_mutter_resize_redraw,
    "mutter-stride-too-short": test_mutter_stride_too_short,
    "mutter-read-only-shown": test_mutter_read_only_shown,
    "mutter-write-sealed-shown": test_mutter_write_sealed_shown,
})


def main():
    return run_one(TESTS, __doc__.splitlines()[0], MutterBench,
                   ("--hostile", "--preload", "--stall-fs"))


if __name__ == "__main__":
    sys.exit(main())

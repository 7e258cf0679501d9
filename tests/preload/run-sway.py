#!/usr/bin/env python3
"""sway 1.7 (wlroots 0.15), unmodified, with libshmguard-preload.so.

    run-sway.py --compositor sway --client PATH --hostile PATH --preload PATH
                --stall-fs PATH TEST

--compositor names sway (a program on PATH, or a path); --client is
client-demo, --hostile tests/hostile's hostile-client, --preload the built
libshmguard-preload.so. One test per run. sway runs headless (wlroots'
headless backend, pixman renderer, no input devices) with a minimal
configuration the test writes: no bar, no background, no Xwayland, a
640x480 output.

sway refuses to run as root. Run by root, the test runs sway as the system
user shmguard-test (created with useradd if missing), with a private
XDG_RUNTIME_DIR that user owns (mode 0700) and a copy of the preload in it,
so that the build tree need not be readable by that user. Run by anyone
else, sway runs as that user. The clients run as the test's user: root may
connect to the socket in the other user's directory.

Each test runs sway with the preload and, where that shows a difference,
without it (libwayland's wl_shm) in the same test; the docstrings say what
each does. Attacks and their assertions are tests/hostile/run-hostile.py's,
the harness (time limits, the fd-leak check, clean exit) is
tests/integration/run.py's.

Skipped, with the reason, when sway is not installed, the preload was not
built, or no unprivileged user can be had. In a sanitizer build the preload
needs AddressSanitizer's runtime, which an uninstrumented sway does not
load: it is preloaded first (LD_PRELOAD="libasan.so:preload") with
verify_asan_link_order=0, and leak detection off (sway's leaks are not
under test).

Exit status: 0 passed, 1 failed, 77 skipped (Meson's convention).
"""
import glob
import importlib.util
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from run import (Failure, Session, Skip, assert_good_keeps_going, check,  # noqa: E402
                 log, need, read_png, run_one, wait_for_frames)


def _import_hostile():
    """tests/hostile/run-hostile.py, whose name is not a module name."""
    path = os.path.join(HERE, "..", "hostile", "run-hostile.py")
    spec = importlib.util.spec_from_file_location("run_hostile", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hostile = _import_hostile()
attack = hostile.attack
finish = hostile.finish
hostile_env = hostile.hostile_env
PROTOCOL_ERROR = hostile.PROTOCOL_ERROR
CONNECTION_LOST = hostile.CONNECTION_LOST
INVALID_FD = hostile.INVALID_FD
TRUNCATED = hostile.TRUNCATED

# The system user sway runs as when the test runs as root.
SWAY_USER = "shmguard-test"
PRELOAD_LINE = "libshmguard-preload: wl_shm served by libshmguard"
OUTPUT_SIZE = (640, 480)
# The shortest configuration that starts nothing besides sway: with no
# `bar` block there is no swaybar, with no `output bg` no swaybg.
SWAY_CONFIG = f"""\
xwayland disable
output * mode {OUTPUT_SIZE[0]}x{OUTPUT_SIZE[1]}
"""


def libwayland_shm_user(sway):
    """None if @sway's wlroots calls libwayland's wl_display_init_shm(), as
    wlroots 0.15 does; else the name of the wlroots library that serves
    wl_shm itself."""
    needed = subprocess.run(["ldd", sway], stdout=subprocess.PIPE, text=True).stdout
    m = re.search(r"^\s*(libwlroots\S*) => (\S+)", needed, re.M)
    if m is None:
        return None
    symbols = subprocess.run(["nm", "-D", "--undefined-only", m[2]],
                             stdout=subprocess.PIPE, text=True).stdout
    return None if re.search(r"\bwl_display_init_shm\b", symbols) else m[1]


def sway_program(name):
    path = shutil.which(name)
    if path is None:
        raise Skip(f"{name} not installed (Debian package sway)")
    return path


def unprivileged_user():
    """The user to run sway as: None for the test's own user when that is
    not root; as root, SWAY_USER, created if missing."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SWAY_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd")
    if useradd is None:
        raise Skip(f"sway refuses to run as root, and there is no useradd to create "
                   f"the unprivileged user {SWAY_USER} (Debian package passwd)")
    # Tests run in parallel: another one may be creating the user now
    # (useradd then fails to lock /etc/passwd, or finds the user there).
    for _ in range(50):
        done = subprocess.run(
            [useradd, "--system", "--user-group", "--no-create-home",
             "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
             "--comment", "libshmguard tests, sway refuses root", SWAY_USER],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            user = pwd.getpwnam(SWAY_USER)
            if done.returncode == 0:
                log(f"created the system user {SWAY_USER} (uid {user.pw_uid})")
            return user
        except KeyError:
            pass
        if done.returncode != 10:  # 10: cannot lock the password file
            break
        time.sleep(0.1)
    raise Skip(f"sway refuses to run as root, and the unprivileged user {SWAY_USER} "
               f"could not be created: useradd exited {done.returncode}: "
               f"{done.stdout.strip()}")


def asan_runtime(library):
    """The AddressSanitizer runtime @library needs, or None."""
    done = subprocess.run(["ldd", library], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    m = re.search(r"^\s*\S*lib(?:clang_rt\.)?asan\S*\.so\S* => (\S+)", done.stdout, re.M)
    return m[1] if m else None


class SwaySession(Session):
    """One sway in a private runtime directory owned by the user it runs
    as. The harness's Session, with sway in place of compositor-demo."""

    def __init__(self, args, user):
        super().__init__(args)
        self.user = user
        if user is not None:
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        self.builtin = True
        self.socket = None

    def start_sway(self, preload, *extra):
        """Start sway, with the preload or without it (libwayland's
        wl_shm), and wait for its Wayland socket."""
        self.builtin = not preload
        config = self.path("config")
        with open(config, "w") as f:
            f.write(SWAY_CONFIG)
        env = dict(self.env, HOME=self.dir, WLR_BACKENDS="headless", WLR_RENDERER="pixman",
                   WLR_LIBINPUT_NO_DEVICES="1")
        for name in ("LD_PRELOAD", "XDG_CONFIG_HOME", "SWAYSOCK", "I3SOCK"):
            env.pop(name, None)
        if preload:
            # The user sway runs as may not reach the build tree.
            copy = self.path("libshmguard-preload.so")
            shutil.copy(self.args.preload, copy)
            env["LD_PRELOAD"] = copy
            runtime = asan_runtime(self.args.preload)
            if runtime is not None:
                env["LD_PRELOAD"] = f"{runtime}:{copy}"
                env["ASAN_OPTIONS"] += ":detect_leaks=0:verify_asan_link_order=0"
        cmd = [self.args.compositor, "-c", config, *extra]
        who = self.user.pw_name if self.user is not None else "the test's user"
        shm = (f"LD_PRELOAD={env['LD_PRELOAD']} " if preload
               else "(libwayland's wl_shm, no preload) ")
        log(f"$ {shm}" + " ".join(cmd) + f"  (as {who})")
        self.compositor_stderr = open(self.compositor_log, "w")
        ids = {}
        if self.user is not None:
            ids = dict(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        self.compositor = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                                           stdout=self.compositor_stderr,
                                           stderr=subprocess.STDOUT, **ids)
        end = time.monotonic() + 20
        while True:
            check(self.compositor_alive(),
                  f"sway exited at start (status {self.compositor.returncode}): "
                  f"{self.compositor_text()[-2000:]}")
            sockets = [os.path.basename(p) for p in glob.glob(self.path("wayland-*"))
                       if not p.endswith(".lock")]
            # sway makes both before its event loop runs: a client that
            # connects meanwhile waits to be served.
            if sockets and glob.glob(self.path("sway-ipc.*.sock")):
                break
            check(time.monotonic() < end, "sway did not listen within 20 s")
            time.sleep(0.05)
        self.socket = sockets[0]
        self.client_env["WAYLAND_DISPLAY"] = self.socket
        text = self.compositor_text()
        if preload:
            check(PRELOAD_LINE in text, "sway's stderr lacks the preload's line")
        else:
            check(PRELOAD_LINE not in text, "the preload is in use where it must not be")
        time.sleep(0.3)
        self.fds_at_start = self.compositor_fds()

    def compositor_fds(self):
        """The fds sway holds, less wlroots' own output buffers (its shm
        allocator's /dev/shm/wlroots-*): the output's swapchain grows as
        it renders, clients or none."""
        fds = []
        for fd in os.listdir(f"/proc/{self.compositor.pid}/fd"):
            try:
                target = os.readlink(f"/proc/{self.compositor.pid}/fd/{fd}")
            except OSError:
                continue
            if not target.startswith("/dev/shm/wlroots-"):
                fds.append(fd)
        return sorted(fds, key=int)


class SwayBench:
    """The sways of one test, each in its own SwaySession. Prerequisites
    are checked at the first sway, inside the test, so that a missing one
    skips it."""

    def __init__(self, args):
        self.args = args
        self.sessions = []
        self.user = None
        self.checked = False

    def sway(self, preload=True, *extra):
        if not self.checked:
            self.args.compositor = sway_program(self.args.compositor)
            if not self.args.preload:
                raise Skip("libshmguard-preload.so is not part of this build")
            if not os.path.exists(self.args.preload):
                raise Skip(f"{self.args.preload} was not built")
            self.user = unprivileged_user()
            version = subprocess.run([self.args.compositor, "--version"],
                                     stdout=subprocess.PIPE, text=True).stdout.strip()
            wlroots = libwayland_shm_user(self.args.compositor)
            if wlroots is not None:
                raise Skip(f"{version} serves wl_shm with {wlroots}'s own implementation "
                           f"(wlroots 0.17 and later), not libwayland's: there is "
                           f"nothing for the preload to serve")
            log(f"{version}; the preload's ASan runtime: {asan_runtime(self.args.preload)}")
            self.checked = True
        s = SwaySession(self.args, self.user)
        self.sessions.append(s)
        s.start_sway(preload, *extra)
        return s

    def close(self, failed):
        for s in self.sessions:
            s.close(failed)


def wait_for_text(s, pattern, timeout=5):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        m = re.search(pattern, s.compositor_text(), re.M)
        if m:
            return m
        time.sleep(0.05)
    raise Failure(f"sway's stderr lacks /{pattern}/ after {timeout} s")


# -- the tests ---------------------------------------------------------

def test_weston_simple_shm(bench):
    """weston-simple-shm shows 60 frames or more in 3 s under sway with the
    preload. sway runs with -D noatomic: its transactions keep a window's
    previous buffer until the client answers a configure, and wlroots
    0.15's pixman renderer reads client buffers in place, so both of
    weston-simple-shm's two buffers are busy at its second frame and it
    aborts ("Both buffers busy at redraw(). Server bug?") with
    libwayland's wl_shm as with the preload."""
    program = need("weston-simple-shm", "weston")
    s = bench.sway(True, "-D", "noatomic")
    proc = s.spawn([program], "weston-simple-shm", env=dict(s.client_env, WAYLAND_DEBUG="client"))
    time.sleep(3)
    check(proc.poll() is None, f"weston-simple-shm exited early ({proc.returncode}): "
          f"{open(proc.log_path).read()[-500:]}")
    proc.send_signal(signal.SIGINT)
    proc.wait(10)
    trace = open(proc.log_path).read()
    frames = len(re.findall(r"wl_callback[@#]\d+\.done\(", trace))
    attaches = len(re.findall(r"wl_surface[@#]\d+\.attach\(wl_buffer[@#]", trace))
    releases = len(re.findall(r"wl_buffer[@#]\d+\.release\(", trace))
    log(f"weston-simple-shm: {attaches} buffers attached, {releases} released, "
        f"{frames} callbacks in 3 s")
    check("protocol error" not in trace.lower(), "weston-simple-shm got a protocol error")
    check(frames >= 60 and attaches >= 60 and releases >= 60,
          "weston-simple-shm showed fewer than 60 frames")
    finish(s)


def test_truncate(bench):
    """A client truncates its file after its buffer was shown and commits
    it again, while client-demo good animates: the attacker's wl_buffer
    gets wl_shm invalid_fd, the good client goes on and a fresh client is
    shown. With the preload the error is libshmguard's ("client truncated
    its pool") and sway logs the fault; without it libwayland's guard does
    the same with its own message ("error accessing SHM buffer")."""
    for preload in (True, False):
        s = bench.sway(preload)
        good = s.spawn_good()
        wait_for_frames(good, 30)
        attack(s, "truncate-after-show", status=PROTOCOL_ERROR, error=("wl_buffer", INVALID_FD),
               message=TRUNCATED if preload else r"^error accessing SHM buffer")
        if preload:
            wait_for_text(s, r"^libshmguard-preload: client pid \d+ \(hostile-client\): "
                          r"truncated at byte \d+ of its pool \(file has 0 bytes\): "
                          r"disconnected")
        assert_good_keeps_going(good)
        finish(s)


def test_truncate_after_destroy(bench):
    """Show a buffer, destroy the wl_buffer and the pool (the surface keeps
    showing it), truncate the file, ask for a screen capture. wlroots 0.15
    took wl_shm_buffer_ref_pool() at the destroy and reads the saved data
    pointer with no begin_access. Without the preload that read is
    unguarded: sway dies of SIGBUS, every client with it. With it, the
    pool reference guards the memory with no window: the read sees zeros,
    sway survives, and the fault policy runs at the next dispatch (not
    when wlroots drops the reference, which is when the surface shows
    something else): the attacker gets invalid_fd on its wl_shm, the
    wl_buffer and the pool being gone, and a fresh client is shown."""
    s = bench.sway(True)
    attack(s, "truncate-after-destroy", status=PROTOCOL_ERROR, error=("wl_shm", INVALID_FD),
           message=TRUNCATED, options=("--settle", "1000"))
    wait_for_text(s, r"^libshmguard-preload: client pid \d+ \(hostile-client\): truncated "
                  r"at byte 0 of its pool \(file has 0 bytes\): disconnected")
    finish(s)

    b = bench.sway(False)
    attack(b, "truncate-after-destroy", status=CONNECTION_LOST, message=r"^connection lost",
           options=("--settle", "1000"), dies=True)
    hostile.expect_sigbus_death(b, "the capture read the truncated, destroyed buffer")


def test_read_only_shown(bench):
    """A pool over a read-only fd (the memfd reopened O_RDONLY): with the
    preload it is shown, all 64x64 pixels of it in a screen capture
    (client-demo capture, wlr-screencopy). libwayland maps every pool
    PROT_READ|PROT_WRITE: mmap fails with EACCES, wl_shm invalid_fd."""
    s = bench.sway(True)
    proc = s.spawn([s.args.hostile, "--settle", "20000", "show", "--fd", "read-only"],
                   "show-read-only", env=hostile_env(s))
    end = time.monotonic() + 15
    while "shown: frame callback" not in open(proc.log_path).read():
        check(proc.poll() is None, f"show --fd read-only exited ({proc.returncode}): "
              f"{open(proc.log_path).read()}")
        check(time.monotonic() < end, "show --fd read-only was not shown in time")
        time.sleep(0.05)
    # The frame callback can come before sway's layout shows the new
    # window (its transaction waits for the client's answer to a
    # configure): capture until it is there.
    png = s.path("screen.png")
    end = time.monotonic() + 5
    while True:
        s.client("capture", png, expect=0)
        image = read_png(png)
        check(image[:2] == OUTPUT_SIZE, f"capture is {image[:2]}, not {OUTPUT_SIZE}")
        pixels = hostile.attack_pixels(image)[0]
        if pixels == 64 * 64 or time.monotonic() > end:
            break
        time.sleep(0.2)
    log(f"read-only: {pixels} pixels of the client's colour on the screen")
    check(pixels == 64 * 64, f"the read-only buffer is not on the screen ({pixels} pixels)")
    proc.terminate()
    proc.wait(10)
    finish(s)

    b = bench.sway(False)
    attack(b, "show", "--fd", "read-only", status=PROTOCOL_ERROR,
           error=("wl_shm", INVALID_FD), message=r"^failed mmap fd \d+: Permission denied")
    finish(b)


def test_fuse(bench):
    """A file on a FUSE mount whose daemon never answers reads (then one
    that also holds getattr and statfs), as tests/hostile's fuse-data-stall
    and fuse-metadata-stall. With the preload: wl_shm invalid_fd naming
    fuse, the daemon never asked, no thread of sway waiting on it, a fresh
    client shown within 2 s. Without it sway (libwayland's wl_shm, wlroots'
    pixman renderer reading the buffer) freezes on the data stall until
    the daemon ends; then it serves again."""
    hostile.fuse_usable(bench.args.stall_fs)
    for mode in ("data", "all"):
        fs = hostile.StallFs(bench.args.stall_fs, mode)
        try:
            s = bench.sway(True)
            hostile.refused_untouched(s, fs, fs.file, message=hostile.FUSE_NAMED)
            finish(s)
        finally:
            fs.close()

    fs = hostile.StallFs(bench.args.stall_fs, "data")
    try:
        b = bench.sway(False)
        hostile.frozen_then_released(b, fs, fs.file)
    finally:
        fs.close()


TESTS = {
    "sway-weston-simple-shm": test_weston_simple_shm,
    "sway-truncate": test_truncate,
    "sway-truncate-after-destroy": test_truncate_after_destroy,
    "sway-read-only-shown": test_read_only_shown,
    "sway-fuse": test_fuse,
}


def main():
    return run_one(TESTS, __doc__.splitlines()[0], SwayBench,
                   ("--hostile", "--preload", "--stall-fs"))


if __name__ == "__main__":
    sys.exit(main())

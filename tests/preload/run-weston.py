#!/usr/bin/env python3
"""Debian's weston 10 serving wl_shm through libshmguard-preload.so.

    run-weston.py --compositor WESTON --client PATH --hostile PATH --preload PATH
                  --stall-fs PATH TEST

weston runs headless (pixman renderer, desktop-shell) with the preload in
LD_PRELOAD, and, where a test compares, without it: libwayland 1.21's own
wl_shm. The hostile-client tests of tests/hostile run unchanged on weston
through WestonBench, which states where weston differs from compositor-demo;
the tests defined here are the ones only weston has. The harness (private
XDG_RUNTIME_DIR per compositor, time limits, the fd-leak check and a clean
exit at the end) is tests/integration/run.py's.

A test is skipped (77) when weston, weston-screenshooter or the preload is
missing, or weston is not version 10, whose behaviour the tests state.

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


def load_hostile():
    """tests/hostile/run-hostile.py, whose name is not a module name."""
    spec = importlib.util.spec_from_file_location(
        "run_hostile", os.path.join(HERE, "..", "hostile", "run-hostile.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hostile = load_hostile()
attack, attack_pixels, finish, held_screenshot = (
    hostile.attack, hostile.attack_pixels, hostile.finish, hostile.held_screenshot)

# No animations, so that a screenshot shows a settled frame and a closed
# window is gone at once; no screen lock; no clock, whose redraw at a
# minute's turn may make the panel a new pool (an fd weston holds, with the
# preload, which the fd-leak check would take for a leak).
WESTON_INI = """\
[shell]
clock-format=none
startup-animation=none
animation=none
close-animation=none
focus-animation=none
locking=false
"""

PRELOAD_SAYS = r"^libshmguard-preload: wl_shm served by libshmguard"

# What resize-redraw paints into its buffer after the resize (XRGB
# 0xff5a1cc4).
REDRAW_RGB = (0x5a, 0x1c, 0xc4)


def program(name):
    path = shutil.which(name)
    if path is None:
        raise Skip(f"{name} not installed (Debian package weston)")
    return path


# The weston versions whose behaviour these tests state: Debian 12's,
# 13's and unstable's.
WESTON_VERSIONS = (10, 14, 16)


def weston_version(name):
    """(path, major version) of weston, or Skip for a version the tests
    do not know."""
    path = program(name)
    version = subprocess.run([path, "--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True).stdout.strip()
    m = re.match(r"weston (\d+)\.", version)
    if not m or int(m[1]) not in WESTON_VERSIONS:
        raise Skip(f"{version}: these tests state what weston "
                   f"{', '.join(map(str, WESTON_VERSIONS))} (Debian 12, 13, unstable) do")
    return path, int(m[1])


def preload_libraries(preload):
    """LD_PRELOAD for weston: the preload, after the AddressSanitizer
    runtime when the preload is instrumented (weston is not, and ASan's
    runtime must come first in the process)."""
    if not preload or not os.path.exists(preload):
        raise Skip("libshmguard-preload.so is not built in this build directory")
    needed = subprocess.run(["ldd", preload], stdout=subprocess.PIPE, text=True).stdout
    asan = re.search(r"^\s*libasan\.so\S* => (\S+)", needed, re.M)
    return [asan[1], preload] if asan else [preload]


class WestonSession(Session):
    """weston headless in a Session's runtime directory, with the preload
    (preload=True) or with libwayland's own wl_shm."""

    def __init__(self, args, preload):
        super().__init__(args)
        self.preload = preload
        self.screenshot_file = None
        self.version = None

    def compositor_env(self):
        env = dict(self.env)
        if self.preload:
            env["LD_PRELOAD"] = ":".join(preload_libraries(self.args.preload))
            # weston's own leaks are not ours; fast unwinding for its
            # mallocs, which the ASan runtime serves too.
            env["ASAN_OPTIONS"] = env["ASAN_OPTIONS"] + \
                ":detect_leaks=0:fast_unwind_on_malloc=1"
        return env

    def start_compositor(self, screenshot=None, open_files=None):
        """screenshot: the file screenshot() writes (weston --debug lets
        weston-screenshooter take it)."""
        weston, self.version = weston_version(self.args.compositor)
        program("weston-screenshooter")
        preload_libraries(self.args.preload)
        env = self.compositor_env()
        config = self.path("weston.ini")
        with open(config, "w") as f:
            f.write(WESTON_INI)
        # weston 12 renamed --use-pixman to --renderer=pixman (the old
        # name is a deprecated alias in 14).
        renderer = "--use-pixman" if self.version < 12 else "--renderer=pixman"
        cmd = [weston, "--backend=headless-backend.so", f"--socket={self.socket}",
               "--idle-time=0", renderer, "--width=1024", "--height=640",
               f"--config={config}"]
        if screenshot:
            cmd.append("--debug")
            self.screenshot_file = screenshot
        log(f"weston with LD_PRELOAD={env['LD_PRELOAD']}" if "LD_PRELOAD" in env
            else "weston without LD_PRELOAD")
        self.launch_compositor(cmd, open_files=open_files, env=env, stdout=subprocess.DEVNULL)
        end = time.monotonic() + 20
        while not os.path.exists(self.path(self.socket)):
            check(self.compositor_alive(),
                  f"weston exited at start ({self.compositor.returncode})")
            check(time.monotonic() < end, "weston did not create its socket")
            time.sleep(0.05)
        self.fds_at_start = self._settled_fds()
        said = re.search(PRELOAD_SAYS, self.compositor_text(), re.M)
        if self.preload:
            check(said, "weston does not say that libshmguard-preload serves its wl_shm")
        else:
            check("libshmguard-preload" not in self.compositor_text(),
                  "the preload is in a weston meant to run without it")

    def _settled_fds(self):
        """weston's fds once desktop-shell's helper clients are up and
        have made their pools (with the preload, a pool keeps an fd): the
        count has not changed for 1 s."""
        end = time.monotonic() + 15
        fds, since = self.compositor_fds(), time.monotonic()
        while time.monotonic() - since < 1.0:
            check(self.compositor_alive(), f"weston died ({self.compositor.returncode})")
            check(time.monotonic() < end, "weston's fds did not settle within 15 s")
            time.sleep(0.1)
            now = self.compositor_fds()
            if now != fds:
                fds, since = now, time.monotonic()
        return fds

    def screenshot(self, timeout=10):
        """weston-screenshooter writes wayland-screenshot-*.png in its
        working directory; it becomes the file given at start."""
        check(self.screenshot_file is not None, "weston was started without --debug")
        shots = self.path("shots")
        shutil.rmtree(shots, ignore_errors=True)
        os.mkdir(shots)
        self.run([program("weston-screenshooter")], timeout=timeout, expect=0,
                 cwd=shots)
        taken = [name for name in os.listdir(shots) if name.endswith(".png")]
        check(len(taken) == 1, f"weston-screenshooter wrote {taken}")
        shutil.move(os.path.join(shots, taken[0]), self.screenshot_file)


class WestonBench(hostile.Bench):
    """The hostile tests' Bench on weston: compositor() starts weston with
    the preload, compositor("--builtin-shm") without it (libwayland's own
    wl_shm, as --builtin-shm asks of compositor-demo)."""

    # The preload's fault line on weston's stderr.
    FAULT_LOGGED = (r"^libshmguard-preload: client pid \d+ \(hostile-client\): truncated "
                    r"at byte \d+ of its pool")
    # pixman refuses to make an image of it ("*** BUG *** ... rowstride"
    # on weston's stderr): weston draws nothing, yet sends the frame
    # callback, so the client believes it was shown.
    ODD_STRIDE_SHOWN = True
    # The preload keeps libwayland's bound on create_buffer.
    LAST_ROW_NEEDS_WHOLE_STRIDE = True

    def session(self, preload):
        s = WestonSession(self.args, preload)
        s.builtin = not preload
        self.sessions.append(s)
        return s

    def compositor(self, *extra, screenshot=False, open_files=None):
        check(set(extra) <= {"--builtin-shm"}, f"weston has no {extra}")
        s = self.session(preload="--builtin-shm" not in extra)
        s.start_compositor(screenshot=s.path("screen.png") if screenshot else None,
                           open_files=open_files)
        return s


def expect_death(s, signum, what):
    """weston (without the preload, so without AddressSanitizer) died of
    @signum."""
    try:
        status = s.compositor.wait(10)
    except subprocess.TimeoutExpired:
        raise Failure(f"[libwayland] weston still runs after {what}")
    check(status == -signum,
          f"[libwayland] weston ended with status {status}, not by {signum.name}")
    log(f"[libwayland] weston died of {signum.name} after {what}")


# -- the tests ----------------------------------------------------------

def test_weston_simple_shm(bench):
    """weston-simple-shm (a wl_shm client of weston's own) shows frames
    for 3 s, with the preload and without; weston's desktop-shell, whose
    background and panel are wl_shm clients too, runs beside it."""
    for preload in (True, False):
        run.test_weston_simple_shm(bench.session(preload))


# weston's own demo clients that draw with wl_shm, each through another
# part of it: a pool grown while its buffers live (resizor), buffer
# transform, scale and damage (simple-damage, transformed), wp_viewporter
# (scaler), cairo text (terminal), presentation feedback (presentation-shm).
WESTON_CLIENTS = ("weston-resizor", "weston-simple-damage", "weston-transformed",
                  "weston-scaler", "weston-terminal", "weston-presentation-shm")


def test_weston_clients(bench):
    """weston's wl_shm demo clients run side by side for 3 s, none ends
    (a protocol error would end it), with the preload and without."""
    for extra in ((), ("--builtin-shm",)):
        s = bench.compositor(*extra)
        env = dict(s.client_env, SHELL="/bin/sh")
        clients = [s.spawn([program(name)], name, env=env) for name in WESTON_CLIENTS]
        time.sleep(3)
        for proc in clients:
            check(proc.poll() is None, f"{proc.args[0]} exited ({proc.returncode}): "
                  f"{open(proc.log_path).read()[-2000:]}")
        log(f"{', '.join(WESTON_CLIENTS)}: running after 3 s")
        finish(s)


def test_truncate_after_show(bench):
    """Truncate the file after the buffer was shown, commit again: with
    the preload, wl_buffer invalid_fd with libshmguard's message and its
    fault line on weston's stderr; then a fresh client is shown. Without:
    libwayland's SIGBUS handler, armed by weston's
    wl_shm_buffer_begin_access() around its pixman composite, catches the
    fault and posts the same error (message "error accessing SHM
    buffer"); weston keeps serving."""
    hostile.test_truncate_after_show(bench)

    b = bench.compositor("--builtin-shm")
    attack(b, "truncate-after-show", status=hostile.PROTOCOL_ERROR,
           error=("wl_buffer", hostile.INVALID_FD),
           message=r"^error accessing SHM buffer")
    finish(b)


def test_truncate_after_destroy(bench):
    """Show a buffer, destroy the wl_buffer and the wl_shm_pool, truncate
    the file, commit damage on the surface. weston has no screen capture
    protocol to make it render the old buffer (compositor-demo's test
    uses one), and its pixman renderer drops its image of a wl_buffer
    when the buffer is destroyed: nothing reads the truncated file. The
    client stays connected and weston survives, with the preload and
    without (unlike compositor-demo with libwayland, whose wlroots reads
    the destroyed buffer and dies of SIGBUS)."""
    for extra in ((), ("--builtin-shm",)):
        s = bench.compositor(*extra)
        attack(s, "truncate-after-destroy", status=hostile.CONNECTED,
               message=r"^redrawn: frame callback(.|\n)*^still connected")
        finish(s)


def test_resize_redraw(bench):
    """A well-behaved client grows its file, then its pool, paints new
    pixels into the buffer it showed and commits damage without a new
    attach. weston's pixman renderer took the buffer's data pointer once,
    at attach (wl_shm_buffer_get_data()); libwayland 1.21 moves the
    pool's mapping at resize (mremap with MREMAP_MAYMOVE, deferred only for
    a pool the compositor holds with wl_shm_buffer_ref_pool(), which
    weston 10 never calls), so the redraw reads the old, unmapped address:
    SIGSEGV, which no SIGBUS handler catches, and weston dies with every
    client. With the preload each buffer keeps the mapping it was made in
    until it is destroyed: weston's screenshot shows the new pixels.

    weston 14 and 16 do not read the buffer again for a commit of damage
    alone (the screenshot keeps the pixels of the attach, with libwayland
    1.23 and 1.26 as with the preload), so they survive either way: that
    is what is asserted for them."""
    s = bench.compositor(screenshot=True)
    if s.version >= 14:
        for b in (s, bench.compositor("--builtin-shm")):
            attack(b, "resize-redraw", status=hostile.CONNECTED,
                   message=r"^redrawn: frame callback(.|\n)*^still connected")
            finish(b)
        return
    image = held_screenshot(s, ["resize-redraw"], "resize-redraw",
                            until="redrawn: frame callback")
    check(image is not None, "weston died")
    rgb = image[2]
    redrawn = sum(1 for i in range(0, len(rgb), 3) if rgb[i:i + 3] == bytes(REDRAW_RGB))
    log(f"[libshmguard] {redrawn} pixels of the colour painted after the resize")
    check(redrawn == 64 * 64 and attack_pixels(image)[0] == 0,
          "the redraw does not show the buffer's new pixels")
    finish(s)

    b = bench.compositor("--builtin-shm")
    attack(b, "resize-redraw", status=hostile.CONNECTION_LOST, message=r"^connection lost",
           dies=True)
    expect_death(b, signal.SIGSEGV, "the redraw read the buffer's old mapping")


def test_hugetlb_truncate(bench):
    """tests/hostile's hugetlb-truncate on weston: a buffer in a
    huge-page memfd, shown, the file truncated, shown again, at several
    offsets and sizes. With the preload, wl_buffer invalid_fd for every
    case, with its fault line on weston's stderr. Without it, libwayland's
    own SIGBUS handler maps zeros over the whole pool from its start:
    invalid_fd ("error accessing SHM buffer") while the pool is a whole
    number of huge pages; for a pool that is not, that mapping would
    split the hugetlb mapping inside a huge page, fails with EINVAL,
    libwayland re-raises and weston dies of SIGBUS."""
    hostile.test_hugetlb_truncate(bench)


def test_harness_catches_unloaded_preload(bench):
    """Must fail inside: a weston meant to run with the preload but
    started without it serves libwayland's wl_shm, and the harness must
    say so rather than pass the test on libwayland's behaviour."""
    s = bench.session(preload=True)
    s.compositor_env = lambda: dict(s.env)
    try:
        s.start_compositor()
    except Failure as e:
        check("does not say that libshmguard-preload serves" in str(e),
              f"caught for another reason: {e}")
        log(f"the harness caught it, as it must: {e}")
        finish(s)
        return
    raise Failure("the harness did not notice a weston without the preload")


# Every hostile test of tests/hostile that needs no screen capture
# protocol runs here unchanged, but truncate-after-destroy (see above).
HOSTILE_TESTS = (
    "truncate-before-commit",
    "truncate-race",
    "pool-larger-than-file",
    "resize-past-end",
    "resize-shrink",
    "sealed-resize",
    "non-file-fds",
    "bad-geometry",
    "stride-too-short",
    "unknown-format",
    "read-only-shown",
    "write-sealed-shown",
    "many-pools",
    "many-pools-low-fd-limit",
    "fuse-data-stall",
    "fuse-metadata-stall",
    "fuse-overlay",
    "fuse-flush-stall",
)

TESTS = {name: hostile.TESTS[name] for name in HOSTILE_TESTS}
TESTS.update({
    "weston-simple-shm": test_weston_simple_shm,
    "weston-clients": test_weston_clients,
    "truncate-after-show": test_truncate_after_show,
    "truncate-after-destroy": test_truncate_after_destroy,
    "resize-redraw": test_resize_redraw,
    "hugetlb-truncate": test_hugetlb_truncate,
    "harness-catches-unloaded-preload": test_harness_catches_unloaded_preload,
})


def main():
    return run_one(TESTS, __doc__.splitlines()[0], WestonBench,
                   ("--hostile", "--preload", "--stall-fs"))


if __name__ == "__main__":
    sys.exit(main())

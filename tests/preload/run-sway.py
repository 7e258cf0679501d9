#!/usr/bin/env python3
"""sway, unmodified, serving wl_shm through libshmguard's preloads.

    run-sway.py --compositor sway --client PATH --hostile PATH --preload PATH
                --wlr-preload PATH --stall-fs PATH TEST

--compositor names sway (a program on PATH, or a path); --client is
client-demo, --hostile tests/hostile's hostile-client, --preload the built
libshmguard-preload.so (libwayland's wl_shm API: sway 1.7, wlroots 0.15),
--wlr-preload the built libshmguard-preload-wlroots-0.X.so (wlroots' own
wl_shm: sway 1.10 with wlroots 0.18, sway 1.12 with 0.20), either empty
when not built. One test per run. sway runs headless (wlroots' headless
backend, pixman renderer, no input devices) with a minimal configuration
the test writes: no bar, no background, no Xwayland, a 640x480 output.

sway refuses to run as root: run by root, the test runs sway as the system
user shmguard-test (created with useradd if missing). The tests, the
choice of preload and the harness are wlroots_tests.py's and
wlroots_compositor.py's (shared with run-labwc.py): each runs sway with
the preload and, where that shows a difference, without it (libwayland's
wl_shm on sway 1.7, wlroots' wlr_shm on 1.10 and 1.12) in the same test,
and asserts both; the attacks and their assertions are
tests/hostile/run-hostile.py's, the harness (time limits, the fd-leak
check, clean exit) tests/integration/run.py's.

Skipped, with the reason, when sway is not installed, the preload its
wlroots needs was not built, or no unprivileged user can be had. In a
sanitizer build the preload needs AddressSanitizer's runtime, which an
uninstrumented sway does not load: it is preloaded first
(LD_PRELOAD="libasan.so:preload") with verify_asan_link_order=0, and leak
detection off (sway's leaks are not under test).

Exit status: 0 passed, 1 failed, 77 skipped (Meson's convention).
"""
import glob
import sys

import wlroots_tests
from run import run_one
from wlroots_compositor import WlrootsBench, WlrootsSession

OUTPUT_SIZE = (640, 480)
# The shortest configuration that starts nothing besides sway: with no
# `bar` block there is no swaybar, with no `output bg` no swaybg.
SWAY_CONFIG = f"""\
xwayland disable
output * mode {OUTPUT_SIZE[0]}x{OUTPUT_SIZE[1]}
"""


class SwaySession(WlrootsSession):
    NAME = "sway"

    def config(self):
        with open(self.path("config"), "w") as f:
            f.write(SWAY_CONFIG)

    def command(self, flags):
        return [self.args.compositor, "-c", self.path("config"), *flags]

    def listening(self):
        # sway makes both before its event loop runs: a client that
        # connects meanwhile waits to be served.
        return bool(self.sockets()) and bool(glob.glob(self.path("sway-ipc.*.sock")))


class SwayBench(WlrootsBench):
    SESSION = SwaySession
    PROGRAM = "sway"
    PACKAGE = "sway"
    REFUSES_ROOT = True
    OUTPUT_SIZE = OUTPUT_SIZE

    def simple_shm_flags(self):
        """-D noatomic on sway 1.7 (wlroots 0.15): see test_weston_simple_shm."""
        return () if self.series() else ("-D", "noatomic")


TESTS = wlroots_tests.named("sway-")


def main():
    return run_one(TESTS, __doc__.splitlines()[0], SwayBench,
                   ("--hostile", "--preload", "--wlr-preload", "--stall-fs"))


if __name__ == "__main__":
    sys.exit(main())

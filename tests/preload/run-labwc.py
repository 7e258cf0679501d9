#!/usr/bin/env python3
"""labwc, unmodified, serving wl_shm through libshmguard's preloads.

    run-labwc.py --compositor labwc --client PATH --hostile PATH --preload PATH
                 --wlr-preload PATH --stall-fs PATH TEST

The arguments are run-sway.py's. labwc (Debian 13's 0.8 with wlroots 0.18,
unstable's 0.20 with wlroots 0.20; Debian 12 has none) runs headless
(wlroots' headless backend and its one 1280x720 output, pixman renderer,
no input devices) with a configuration directory of the test's own
(`labwc -C DIR`: an rc.xml that centres new windows, no autostart). The
tests are wlroots_tests.py's, a subset of run-sway.py's: with the preload
and without it (wlroots' own wlr_shm) in the same test, each difference
asserted. labwc runs as the test's user, root included.

Skipped, with the reason, when labwc is not installed or the preload its
wlroots needs was not built.

Exit status: 0 passed, 1 failed, 77 skipped (Meson's convention).
"""
import os
import sys

import wlroots_tests
from run import run_one
from wlroots_compositor import WlrootsBench, WlrootsSession

# The output wlroots' headless backend makes when WLR_BACKENDS=headless.
OUTPUT_SIZE = (1280, 720)
RC_XML = """\
<?xml version="1.0"?>
<labwc_config>
  <placement><policy>center</policy></placement>
</labwc_config>
"""


class LabwcSession(WlrootsSession):
    NAME = "labwc"

    def config(self):
        config = self.path("labwc")
        os.makedirs(config, exist_ok=True)
        with open(os.path.join(config, "rc.xml"), "w") as f:
            f.write(RC_XML)

    def command(self, flags):
        return [self.args.compositor, "-C", self.path("labwc"), *flags]


class LabwcBench(WlrootsBench):
    SESSION = LabwcSession
    PROGRAM = "labwc"
    PACKAGE = "labwc"
    REFUSES_ROOT = False
    OUTPUT_SIZE = OUTPUT_SIZE

    # Measured on labwc 0.8.3 (wlroots 0.18) and 0.20.2 (wlroots 0.20):
    # 0.8 answers a capture after hostile-client's truncate-after-destroy
    # with the frame it last drew, and draws a new window at its commit;
    # 0.20 draws for that capture, and sends a new window's frame callback
    # without drawing it (it is drawn at the next frame something else
    # asks for, such as a capture).
    @property
    def CAPTURE_REPAINTS(self):  # noqa: N802 (WlrootsBench's name)
        return self.series() != "0.18"

    @property
    def DRAWS_ON_COMMIT(self):  # noqa: N802
        return self.series() == "0.18"

    def simple_shm_flags(self):
        return ()


TESTS = wlroots_tests.named("labwc-", (
    "weston-simple-shm", "foot", "capture", "truncate-after-show", "truncate-after-destroy",
    "pool-larger-than-file", "resize-past-end", "sealed-resize", "read-only-shown",
    "write-sealed-shown", "capture-truncated", "capture-read-only", "fuse-data-stall"))


def main():
    return run_one(TESTS, __doc__.splitlines()[0], LabwcBench,
                   ("--hostile", "--preload", "--wlr-preload", "--stall-fs"))


if __name__ == "__main__":
    sys.exit(main())

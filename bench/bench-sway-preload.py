#!/usr/bin/env python3
"""bench-sway-preload: what libshmguard-preload-wlroots costs an unmodified
wlroots compositor: Debian's sway, headless, serving wl_shm through
wlroots' own implementation (wlr_shm, wlroots 0.17 and later) and through
the preload (LD_PRELOAD), in one invocation.

    bench-sway-preload.py --preload PATH [--sway PATH] [--size WxH]
        [--client simple-shm|good] [--clients N] [--simple-shm PATH]
        [--client-demo PATH] [--window-size WxH]
        [--rounds N] [--seconds S] [--warmup S] [--csv FILE] [--keep-logs DIR]
    bench-sway-preload.py --skip REASON

Each run starts sway on its own XDG_RUNTIME_DIR (0700) with wlroots'
headless backend and pixman renderer, no input devices, and a
configuration of two lines: `xwayland disable` and `output * mode
--size` (no bar, no background: nothing but sway). sway refuses to run
as root: run by root, it runs as the system user shmguard-test (created
with useradd if missing; the runtime directory and a copy of the preload
are that user's), and the clients, run as root, reach its socket all the
same. With the preload, sway's log must have the preload's line saying it
serves wl_shm; without it, it must not. Then --clients clients that
redraw continuously (weston-simple-shm, which in Debian 13 and later
takes the size sway configures, or `client-demo good` at --window-size,
which sway clips to its tile) and a 1x1 window that counts the
compositor's frames (compositor_measure.py; sway tiles it too) run
--warmup seconds, the measurement lasts --seconds, and sway is
stopped with SIGTERM. With weston-simple-shm sway runs with `-D
noatomic`: each new window tiles the others anew, sway's transaction
keeps their shown buffer until they answer the configure, and
weston-simple-shm, which has two buffers, finds both busy and aborts
("Both buffers busy at redraw(). Server bug?"), with either wl_shm. Once
the windows are up nothing is configured any more, so the measured
seconds are the same with or without transactions. A round is one run of each variant; rounds
alternate which goes first (ABBA), so that a drift of the machine weighs
on both alike. Runs, rounds and report are preload_compare.py's, shared
with bench-weston-preload.

Measured per run, over the measured seconds only:
  CPU ms/s        sway's CPU time, every thread, per second: 1000 would
                  be one CPU busy. From /proc/PID/task/*/schedstat (ns)
                  when the same threads ran throughout, else utime + stime
                  of /proc/PID/stat (10 ms ticks)
  frames/s        the compositor's frames: the 1x1 window asks for a frame
                  callback after each one and never damages anything
                  (the headless output's refresh, 60 Hz, is the ceiling)
  CPU ms/frame    the two above divided
  window fps      (`client-demo good` only) frames each window drew, mean

Printed: every run, the median of each variant over the runs, their ratio
(preload / wlroots' wl_shm), and the median, minimum and maximum of the
ratios within each round (both runs of a round saw about the same
machine). wlroots' pixman renderer composites each client buffer from
its data pointer; with the preload every such access opens and closes
one of libshmguard's access windows.

--skip REASON only prints REASON and exits 77: meson registers the
benchmark that way where the wlroots preload is not built.
Exit status: 0 measured, 1 a run failed, 2 usage, 77 skipped (no sway, no
client, no preload, or no unprivileged user to run sway as).
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

# The helpers shared with bench-weston-preload, beside this script; no
# __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import preload_compare  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "tests",
                                "support"))
import test_user  # noqa: E402

PROG = "bench-sway-preload"


class Sway(preload_compare.Compositor):
    name = "sway"
    baseline = "wlroots"
    titles = {"wlroots": "wlroots' wl_shm", "preload": "libshmguard-preload"}
    # What the preload prints when wlr_shm_create() made its global.
    served_re = re.compile(rb"^libshmguard-preload-wlroots-0\.\d+: wl_shm served by libshmguard")
    cpu_note = ("it is sway's alone: its clients run in processes of their own, and there is "
                "no swaybar,", "swaybg or Xwayland")

    def __init__(self, args, user):
        super().__init__(args)
        self.user = user

    def prepare(self, runtime_dir):
        if self.user is not None:
            os.chown(runtime_dir, self.user.pw_uid, self.user.pw_gid)

    def start(self, variant, index, runtime_dir, env):
        config = os.path.join(runtime_dir, "config")
        with open(config, "w") as out:
            out.write("xwayland disable\n"
                      f"output * mode {self.args.size[0]}x{self.args.size[1]}\n")
        for name in ("XDG_CONFIG_HOME", "SWAYSOCK", "I3SOCK"):
            env.pop(name, None)
        env.update(HOME=runtime_dir, WLR_BACKENDS="headless", WLR_RENDERER="pixman",
                   WLR_LIBINPUT_NO_DEVICES="1")
        if variant == "preload":
            # The user sway runs as may not reach the build tree.
            copy = os.path.join(runtime_dir, os.path.basename(self.args.preload))
            shutil.copy(self.args.preload, copy)
            env["LD_PRELOAD"] = copy
        ids = {}
        if self.user is not None:
            ids = dict(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        command = [self.args.sway, "-c", config]
        if self.args.client == "simple-shm":
            command += ["-D", "noatomic"]
        return subprocess.Popen(command, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, **ids)

    def socket_name(self, runtime_dir, index):
        # sway makes its Wayland socket, then its IPC socket, both before
        # its event loop runs: a client that connects meanwhile waits.
        if not glob.glob(os.path.join(runtime_dir, "sway-ipc.*.sock")):
            return None
        sockets = [p for p in glob.glob(os.path.join(runtime_dir, "wayland-*"))
                   if not p.endswith(".lock")]
        return os.path.basename(sockets[0]) if sockets else None


def unprivileged_user():
    """tests/support/test_user.py's user for sway, or a skip."""
    try:
        return test_user.get_or_create("sway")
    except test_user.Unavailable as e:
        preload_compare.skip(PROG, str(e))


def parse_args():
    parser = argparse.ArgumentParser(
        description="sway's CPU time and frames with wlroots' wl_shm and with "
        "libshmguard-preload-wlroots")
    parser.add_argument("--skip", metavar="REASON",
                        help="print REASON and exit 77 (the preload is not built)")
    parser.add_argument("--preload", help="libshmguard-preload-wlroots-0.MINOR.so")
    parser.add_argument("--sway", default="sway", help="sway (default: from PATH)")
    parser.add_argument("--size", type=preload_compare.parse_size, default=(1280, 720),
                        help="sway's output (default 1280x720)")
    preload_compare.add_arguments(parser, seconds=6.0, warmup=2.0)
    args = parser.parse_args()
    if args.skip is not None:
        preload_compare.skip(PROG, args.skip)
    if args.preload is None:
        parser.error("--preload PATH is required")
    preload_compare.check_arguments(parser, args, PROG)
    sway = shutil.which(args.sway)
    if sway is None:
        preload_compare.skip(PROG, f"no {args.sway} (Debian package sway)")
    args.sway = sway
    return args


def main():
    args = parse_args()
    user = unprivileged_user()
    sys.stdout.reconfigure(line_buffering=True)
    version = subprocess.run([args.sway, "--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True).stdout.strip()
    who = f", as {user.pw_name}" if user is not None else ""
    print(f"{PROG}: {args.sway} ({version}) headless at {args.size[0]}x{args.size[1]}, "
          f"pixman renderer{who},")
    print(f"{preload_compare.clients_title(args, 'each as large as its tile')}, tiled")
    print(f"with wlroots' wl_shm and with LD_PRELOAD={args.preload}")
    print(f"{args.rounds} rounds of one run each, ABBA order; per run {args.warmup:g} s "
          f"warm-up, then {args.seconds:g} s measured; {os.cpu_count()} CPUs online, "
          "nothing pinned")
    print()
    return preload_compare.run_rounds(args, Sway(args, user), PROG)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""bench-weston-preload: what libshmguard-preload costs an unmodified
compositor: Debian's weston, headless, serving wl_shm through libwayland's
own implementation and through the preload (LD_PRELOAD), in one invocation.

    bench-weston-preload.py --preload PATH [--weston PATH]
        [--client simple-shm|good] [--clients N] [--simple-shm PATH]
        [--client-demo PATH] [--window-size WxH] [--renderer pixman|noop]
        [--size WxH] [--rounds N] [--seconds S] [--warmup S] [--csv FILE]
        [--keep-logs DIR]

Each run starts `weston --backend=headless-backend.so` on its own
XDG_RUNTIME_DIR (0700) and socket, with or without
LD_PRELOAD=libshmguard-preload.so, and checks from weston's log which one
serves wl_shm. It then starts --clients clients that redraw continuously
(weston-simple-shm, 250x250, or `client-demo good` at --window-size) and a
1x1 window that counts the compositor's frames (compositor_measure.py), lets
them run --warmup seconds, measures for --seconds and stops weston with
SIGTERM. A round is one run of each variant; rounds alternate which goes
first (ABBA), so that a drift of the machine weighs on both alike. The
runs, rounds and report are preload_compare.py's, shared with
bench-sway-preload.

Measured per run, over the measured seconds only:
  CPU ms/s        weston's CPU time, every thread, per second: 1000 would
                  be one CPU busy. From /proc/PID/task/*/schedstat (ns)
                  when the same threads ran throughout, else utime + stime
                  of /proc/PID/stat (10 ms ticks)
  frames/s        the compositor's frames: the 1x1 window asks for a frame
                  callback after each one and never damages anything
  CPU ms/frame    the two above divided
  window fps      (`client-demo good` only) frames each window drew, mean

Printed: every run, the median of each variant over the runs, their ratio
(preload / libwayland), and the median, minimum and maximum of the ratios
within each round (both runs of a round saw about the same machine).
With the pixman renderer weston composites each window inside
wl_shm_buffer_begin/end_access; with the noop renderer (weston's default
headless) it reads every byte of each newly attached buffer inside one.
Exit status: 0 measured, 1 a run failed, 2 usage, 77 skipped (no weston,
no client or no preload).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

# The helpers shared with bench-compositor and bench-sway-preload, beside
# this script; no __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import preload_compare  # noqa: E402

PROG = "bench-weston-preload"


class Weston(preload_compare.Compositor):
    name = "weston"
    baseline = "libwayland"
    titles = {"libwayland": "libwayland's wl_shm", "preload": "libshmguard-preload"}
    # What the preload prints when wl_display_init_shm() made its global.
    served_re = re.compile(rb"libshmguard-preload: wl_shm served by libshmguard")
    cpu_note = ("it is weston's alone: its clients, weston-desktop-shell and weston-keyboard "
                "run in processes", "of their own")

    def start(self, variant, index, runtime_dir, env):
        if variant == "preload":
            env["LD_PRELOAD"] = self.args.preload
        width, height = self.args.size
        command = [self.args.weston, "--backend=headless-backend.so",
                   f"--socket={self.socket(index)}", "--idle-time=0", "--no-config",
                   f"--width={width}", f"--height={height}"]
        if self.args.renderer == "pixman":
            command.append("--use-pixman")
        return subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    @staticmethod
    def socket(index):
        return f"bench-weston-preload-{os.getpid()}-{index}"

    def socket_name(self, runtime_dir, index):
        name = self.socket(index)
        return name if os.path.exists(os.path.join(runtime_dir, name)) else None


def parse_args():
    parser = argparse.ArgumentParser(
        description="weston's CPU time and frames with libwayland's wl_shm and with "
        "libshmguard-preload")
    parser.add_argument("--preload", required=True, help="libshmguard-preload.so")
    parser.add_argument("--weston", default="weston", help="weston (default: from PATH)")
    parser.add_argument("--renderer", choices=("pixman", "noop"), default="pixman",
                        help="weston's headless renderer (default pixman; noop is weston's "
                        "own default)")
    parser.add_argument("--size", type=preload_compare.parse_size, default=(1920, 1080),
                        help="weston's output (default 1920x1080)")
    preload_compare.add_arguments(parser, seconds=10.0, warmup=2.0)
    args = parser.parse_args()
    preload_compare.check_arguments(parser, args, PROG)
    weston = shutil.which(args.weston)
    if weston is None:
        preload_compare.skip(PROG, f"no {args.weston} (Debian package weston)")
    args.weston = weston
    return args


def main():
    args = parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    print(f"{PROG}: {args.weston} headless at {args.size[0]}x{args.size[1]}, "
          f"{args.renderer} renderer, {preload_compare.clients_title(args)}")
    print(f"with libwayland's wl_shm and with LD_PRELOAD={args.preload}")
    print(f"{args.rounds} rounds of one run each, ABBA order; per run {args.warmup:g} s "
          f"warm-up, then {args.seconds:g} s measured; {os.cpu_count()} CPUs online, "
          "nothing pinned")
    print()
    return preload_compare.run_rounds(args, Weston(args), PROG)


if __name__ == "__main__":
    sys.exit(main())

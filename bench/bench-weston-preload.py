#!/usr/bin/env python3
"""bench-weston-preload: what libshmguard-preload costs an unmodified
compositor: Debian's weston, headless, serving wl_shm through libwayland's
own implementation and through the preload (LD_PRELOAD), in one invocation.

    bench-weston-preload.py --preload PATH [--weston PATH]
        [--client simple-shm|good] [--clients N] [--simple-shm PATH]
        [--client-demo PATH] [--window-size WxH] [--renderer pixman|noop]
        [--size WxH] [--rounds N] [--seconds S] [--warmup S] [--csv FILE]

Each run starts `weston --backend=headless-backend.so` on its own
XDG_RUNTIME_DIR (0700) and socket, with or without
LD_PRELOAD=libshmguard-preload.so, and checks from weston's log which one
serves wl_shm. It then starts --clients clients that redraw continuously
(weston-simple-shm, 250x250, or `client-demo good` at --window-size) and a
1x1 window that counts the compositor's frames (compositor_measure.py), lets
them run --warmup seconds, measures for --seconds and stops weston with
SIGTERM. A round is one run of each variant; rounds alternate which goes
first (ABBA), so that a drift of the machine weighs on both alike.

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
import csv
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

# The helpers shared with bench-compositor, beside this script; no
# __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from compositor_measure import (  # noqa: E402
    EXIT_TIMEOUT, START_TIMEOUT, Client, FrameCounter, Reader, RunFailed, cpu_seconds,
    cpu_seconds_fine, stop)

SKIP = 77
VARIANTS = ("libwayland", "preload")
TITLES = {"libwayland": "libwayland's wl_shm", "preload": "libshmguard-preload"}
# What the preload prints when wl_display_init_shm() made its global.
PRELOAD_RE = re.compile(rb"libshmguard-preload: wl_shm served by libshmguard")
# Anything else the preload says is worth reading (an unguarded access, a
# fault, a refusal).
PRELOAD_NOTE_RE = re.compile(rb"libshmguard|shmguard")
KEYS = ("cpu_ms_per_s", "fps", "cpu_ms_per_frame", "window_fps")
KEY_TITLES = {
    "cpu_ms_per_s": "weston CPU ms per second",
    "fps": "compositor frames per second",
    "cpu_ms_per_frame": "weston CPU ms per frame",
    "window_fps": "frames per second, each window",
}
COLUMN_TITLES = {
    "cpu_ms_per_s": "CPU ms/s",
    "fps": "frames/s",
    "cpu_ms_per_frame": "CPU ms/frame",
    "window_fps": "window fps",
}


def parse_size(text):
    match = re.fullmatch(r"(\d+)x(\d+)", text)
    if match is None or int(match.group(1)) == 0 or int(match.group(2)) == 0:
        raise argparse.ArgumentTypeError(f"not a size WxH: {text}")
    return int(match.group(1)), int(match.group(2))


def wait_for_socket(path, weston, deadline):
    while not os.path.exists(path):
        if weston.poll() is not None:
            raise RunFailed(f"weston exited ({weston.returncode}) before listening")
        if time.monotonic() >= deadline:
            raise RunFailed(f"weston did not create {path}")
        time.sleep(0.02)


def run_once(args, variant, index):
    runtime_dir = tempfile.mkdtemp(prefix="bench-weston-preload-")
    os.chmod(runtime_dir, 0o700)
    socket_name = f"bench-weston-preload-{os.getpid()}-{index}"
    env = dict(os.environ, XDG_RUNTIME_DIR=runtime_dir)
    for name in ("WAYLAND_DISPLAY", "WAYLAND_SOCKET", "DISPLAY", "LD_PRELOAD"):
        env.pop(name, None)
    weston_env = dict(env)
    if variant == "preload":
        weston_env["LD_PRELOAD"] = args.preload
    width, height = args.size
    command = [args.weston, "--backend=headless-backend.so", f"--socket={socket_name}",
               "--idle-time=0", "--no-config", f"--width={width}", f"--height={height}"]
    if args.renderer == "pixman":
        command.append("--use-pixman")

    reader = Reader()
    weston = subprocess.Popen(command, env=weston_env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    clients = []
    counter = None
    state = {"log": [], "preload_lines": [], "hung_up": False}

    def on_weston_line(line, now):
        state["log"].append(line)
        if PRELOAD_NOTE_RE.search(line):
            state["preload_lines"].append(line)

    def on_counter_readable():
        if not counter.read_events():
            reader.remove(counter.socket)
            state["hung_up"] = True

    def check_alive():
        if weston.poll() is not None:
            raise RunFailed(f"weston exited ({weston.returncode})")
        if counter is not None and (state["hung_up"] or counter.error is not None):
            raise RunFailed(f"frame counter: {counter.error or 'weston hung up'}")
        for client in clients:
            if client.process.poll() is not None:
                last = b" / ".join(client.output[-3:]).decode(errors="replace")
                raise RunFailed(f"a client exited ({client.process.returncode}): {last}")

    def run_until(deadline, condition=lambda: False, what=None):
        while not condition():
            now = time.monotonic()
            if now >= deadline:
                if what is not None:
                    raise RunFailed(f"timed out waiting for {what}")
                return
            reader.poll(min(0.1, deadline - now))
            check_alive()

    try:
        reader.add_lines(weston.stdout, on_weston_line)
        wait_for_socket(os.path.join(runtime_dir, socket_name), weston,
                        time.monotonic() + START_TIMEOUT)
        client_env = dict(env, WAYLAND_DISPLAY=socket_name)
        for _ in range(args.clients):
            if args.client == "good":
                argv = [args.client_demo, "good", "--size", "%dx%d" % args.window_size]
            else:
                argv = [args.simple_shm]
            process = subprocess.Popen(argv, env=client_env, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            client = Client(process)
            clients.append(client)
            reader.add_lines(process.stdout, client.on_line)
        if args.client == "good":
            run_until(time.monotonic() + START_TIMEOUT,
                      lambda: all(c.window_at is not None for c in clients), "every window")
        # weston-simple-shm says nothing: the warm-up gives it time, and
        # check_alive() that it is still there.
        counter = FrameCounter(os.path.join(runtime_dir, socket_name))
        counter.start()
        reader.add(counter.socket, on_counter_readable)

        measure_start = time.monotonic() + args.warmup
        run_until(measure_start)
        # Which wl_shm this weston serves: the preload's line (printed at
        # wl_display_init_shm(), long read by now), or none.
        served_by_preload = any(PRELOAD_RE.search(line) for line in state["log"])
        if served_by_preload != (variant == "preload"):
            raise RunFailed("weston's log says wl_shm is served by "
                            f"{'the preload' if served_by_preload else 'libwayland'}")
        # schedstat counts to the nanosecond, /proc/PID/stat to the clock
        # tick (10 ms: 1 ms/s over 10 s); the first holds only while the
        # same threads run from start to end.
        threads_start = sorted(os.listdir(f"/proc/{weston.pid}/task"))
        fine_start, cpu_start = cpu_seconds_fine(weston.pid), cpu_seconds(weston.pid)
        cpu_start_at = time.monotonic()
        measure_end = measure_start + args.seconds
        run_until(measure_end)
        fine_end, cpu_end = cpu_seconds_fine(weston.pid), cpu_seconds(weston.pid)
        cpu_end_at = time.monotonic()
        threads_end = sorted(os.listdir(f"/proc/{weston.pid}/task"))
        fine = None not in (fine_start, fine_end) and threads_start == threads_end
        cpu = fine_end - fine_start if fine else cpu_end - cpu_start
        # A last look at what the clients printed before the end.
        reader.poll(0.0)

        weston.send_signal(signal.SIGTERM)
        try:
            weston.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise RunFailed("weston did not exit on SIGTERM") from None
        if weston.returncode != 0:
            raise RunFailed(f"weston exited with {weston.returncode} on SIGTERM")
        counted = counter.rate(measure_start, measure_end)
        if counted is None:
            raise RunFailed("too few frames in the measured interval")
        fps, frames = counted
        window_fps = None
        if args.client == "good":
            rates = [c.rate(measure_start, measure_end) for c in clients]
            if any(rate is None for rate in rates):
                raise RunFailed("a window printed too few frame counters; make --seconds "
                                "longer")
            window_fps = statistics.fmean(rates)
        notes = [line for line in state["preload_lines"] if not PRELOAD_RE.search(line)]
        return {
            "variant": variant,
            "cpu_ms_per_s": 1000.0 * cpu / (cpu_end_at - cpu_start_at),
            "fps": fps,
            "cpu_ms_per_frame": 1000.0 * cpu / frames,
            "window_fps": window_fps,
            "cpu_source": "schedstat" if fine else "stat",
            "preload_notes": notes,
        }
    except (RunFailed, OSError) as error:
        log = b"\n".join(state["log"][-12:]).decode(errors="replace")
        raise RunFailed(f"{variant} run {index + 1}: {error}\nweston's last lines:\n{log}") \
            from None
    finally:
        stop(weston)
        for client in clients:
            stop(client.process)
        if counter is not None:
            counter.close()
        for pipe in [weston.stdout] + [c.process.stdout for c in clients]:
            pipe.close()
        reader.close()
        shutil.rmtree(runtime_dir, ignore_errors=True)


def skip(reason):
    print(f"bench-weston-preload: skipped: {reason}")
    sys.exit(SKIP)


def parse_args():
    parser = argparse.ArgumentParser(
        description="weston's CPU time and frames with libwayland's wl_shm and with "
        "libshmguard-preload")
    parser.add_argument("--preload", required=True, help="libshmguard-preload.so")
    parser.add_argument("--weston", default="weston", help="weston (default: from PATH)")
    parser.add_argument("--client", choices=("simple-shm", "good"), default="simple-shm",
                        help="the clients: weston-simple-shm (250x250) or client-demo good "
                        "(default simple-shm)")
    parser.add_argument("--clients", type=int, default=4, help="how many (default 4)")
    parser.add_argument("--simple-shm", default="weston-simple-shm",
                        help="weston-simple-shm (default: from PATH)")
    parser.add_argument("--client-demo", help="client-demo, for --client good")
    parser.add_argument("--window-size", type=parse_size, default=(1920, 1080),
                        help="client-demo good's window (default 1920x1080)")
    parser.add_argument("--renderer", choices=("pixman", "noop"), default="pixman",
                        help="weston's headless renderer (default pixman; noop is weston's "
                        "own default)")
    parser.add_argument("--size", type=parse_size, default=(1920, 1080),
                        help="weston's output (default 1920x1080)")
    parser.add_argument("--rounds", type=int, default=4,
                        help="rounds of one run per variant (default 4)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="measured seconds per run (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds between the clients' start and the measurement "
                        "(default 2)")
    parser.add_argument("--csv", help="write variant,round,cpu_ms_per_s,fps,cpu_ms_per_frame,"
                        "window_fps rows")
    args = parser.parse_args()
    if args.rounds < 1 or args.clients < 1 or args.seconds < 2.5 or args.warmup < 0.5:
        parser.error("need --rounds >= 1, --clients >= 1, --seconds >= 2.5 (client-demo "
                     "prints its counters once a second), --warmup >= 0.5")
    if args.client == "good" and args.client_demo is None:
        parser.error("--client good needs --client-demo PATH")

    if not os.access(args.preload, os.R_OK):
        skip(f"no preload at {args.preload}")
    weston = shutil.which(args.weston)
    if weston is None:
        skip(f"no {args.weston} (Debian package weston)")
    args.weston = weston
    if args.client == "good":
        if not os.access(args.client_demo, os.X_OK):
            skip(f"no client-demo at {args.client_demo}")
    else:
        simple_shm = shutil.which(args.simple_shm)
        if simple_shm is None:
            skip(f"no {args.simple_shm} (Debian package weston)")
        args.simple_shm = simple_shm
    return args


def format_value(key, value):
    if value is None:
        return "-"
    return f"{value:.1f}" if key in ("cpu_ms_per_s", "fps", "window_fps") else f"{value:.3f}"


def main():
    args = parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    keys = [k for k in KEYS if k != "window_fps" or args.client == "good"]
    if args.client == "good":
        clients = f"{args.clients} x client-demo good at {args.window_size[0]}x" \
                  f"{args.window_size[1]}"
    else:
        clients = f"{args.clients} x weston-simple-shm (250x250)"
    print(f"bench-weston-preload: {args.weston} headless at {args.size[0]}x{args.size[1]}, "
          f"{args.renderer} renderer, {clients}")
    print(f"with libwayland's wl_shm and with LD_PRELOAD={args.preload}")
    print(f"{args.rounds} rounds of one run each, ABBA order; per run {args.warmup:g} s "
          f"warm-up, then {args.seconds:g} s measured; {os.cpu_count()} CPUs online, "
          "nothing pinned")
    print()
    header = "".join(f"{COLUMN_TITLES[k]:>16}" for k in keys)
    print(f"  {'run':>3}  {'wl_shm':<22}{header}")

    results = []
    started = time.monotonic()
    for round_index in range(args.rounds):
        order = VARIANTS if round_index % 2 == 0 else tuple(reversed(VARIANTS))
        for variant in order:
            try:
                result = run_once(args, variant, len(results))
            except RunFailed as error:
                print(f"bench-weston-preload: {error}", file=sys.stderr)
                return 1
            result["round"] = round_index + 1
            results.append(result)
            cells = "".join(f"{format_value(k, result[k]):>16}" for k in keys)
            print(f"  {len(results):>3}  {TITLES[variant]:<22}{cells}")
            for note in result["preload_notes"][:5]:
                print(f"       weston said: {note.decode(errors='replace')}")

    print()
    print(f"  {'measurement (median of ' + str(args.rounds) + ' runs)':<34}"
          f"{'libwayland':>12}{'preload':>12}{'ratio':>8}   round ratios median (min-max)")
    for key in keys:
        medians = {v: statistics.median(r[key] for r in results if r["variant"] == v)
                   for v in VARIANTS}
        ratios = []
        for round_index in range(1, args.rounds + 1):
            pair = {r["variant"]: r[key] for r in results if r["round"] == round_index}
            ratios.append(pair["preload"] / pair["libwayland"])
        print(f"  {KEY_TITLES[key]:<34}{format_value(key, medians['libwayland']):>12}"
              f"{format_value(key, medians['preload']):>12}"
              f"{medians['preload'] / medians['libwayland']:>8.3f}   "
              f"{statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f})")
    print()
    print("(ratio: preload / libwayland of the medians; round ratios: preload / libwayland "
          "within each round;")
    fine = sum(r["cpu_source"] == "schedstat" for r in results)
    print(f" weston's CPU time from schedstat (ns) in {fine} of {len(results)} runs, else "
          "from /proc/PID/stat;")
    print(" it is weston's alone: its clients, weston-desktop-shell and weston-keyboard run "
          "in processes")
    print(f" of their own; whole run {time.monotonic() - started:.0f} s)")

    if args.csv is not None:
        with open(args.csv, "w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(("variant", "round") + KEYS)
            for r in results:
                writer.writerow([r["variant"], r["round"]]
                                + [format_value(k, r[k]) for k in KEYS])
    return 0


if __name__ == "__main__":
    sys.exit(main())

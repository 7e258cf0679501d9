"""What a preload costs an unmodified headless compositor, measured from
outside: the part of bench-weston-preload and bench-sway-preload that is
not about one compositor. A script describes its compositor (how it starts,
which line of its log says the preload serves wl_shm) in a Compositor;
this module runs it with and without the preload in alternating rounds,
with clients and a frame counter (compositor_measure.py), and prints the
runs, their medians and the ratios preload / the compositor's own wl_shm.
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

from compositor_measure import (
    EXIT_TIMEOUT, START_TIMEOUT, Client, FrameCounter, Reader, RunFailed, cpu_seconds,
    cpu_seconds_fine, stop)

SKIP = 77
PRELOAD = "preload"
KEYS = ("cpu_ms_per_s", "fps", "cpu_ms_per_frame", "window_fps")
COLUMN_TITLES = {
    "cpu_ms_per_s": "CPU ms/s",
    "fps": "frames/s",
    "cpu_ms_per_frame": "CPU ms/frame",
    "window_fps": "window fps",
}
# Anything the preload prints besides its first line is worth reading (an
# unguarded access, a fault, a refusal).
NOTE_RE = re.compile(rb"shmguard")


class Compositor:
    """One compositor under measurement. A subclass sets the class
    attributes and defines start() and socket_name(); the others have
    defaults that fit a compositor run as the benchmark's own user."""

    name = None  # "weston": the program, in messages
    baseline = None  # the variant without the preload: "libwayland"
    titles = None  # variant -> its title in the table of runs
    served_re = None  # the preload's line when it serves wl_shm (bytes)
    cpu_note = None  # lines (a tuple) saying whose CPU time is measured

    def __init__(self, args):
        self.args = args

    @property
    def variants(self):
        return (self.baseline, PRELOAD)

    def prepare(self, runtime_dir):
        """Make @runtime_dir (mode 0700, the benchmark's own) the
        compositor's."""

    def start(self, variant, index, runtime_dir, env):
        """Start the compositor for run @index of @variant with @env
        (XDG_RUNTIME_DIR=@runtime_dir, no LD_PRELOAD) plus what it needs;
        its stdout and stderr one pipe. Returns the subprocess.Popen."""
        raise NotImplementedError

    def socket_name(self, runtime_dir, index):
        """The compositor's Wayland socket in @runtime_dir once clients may
        connect to it, else None."""
        raise NotImplementedError


def parse_size(text):
    match = re.fullmatch(r"(\d+)x(\d+)", text)
    if match is None or int(match.group(1)) == 0 or int(match.group(2)) == 0:
        raise argparse.ArgumentTypeError(f"not a size WxH: {text}")
    return int(match.group(1)), int(match.group(2))


def skip(prog, reason):
    print(f"{prog}: skipped: {reason}")
    sys.exit(SKIP)


def add_arguments(parser, seconds, warmup):
    """The options every preload benchmark has, --seconds and --warmup
    defaulting to @seconds and @warmup."""
    parser.add_argument("--client", choices=("simple-shm", "good"), default="simple-shm",
                        help="the clients: weston-simple-shm or client-demo good "
                        "(default simple-shm)")
    parser.add_argument("--clients", type=int, default=4, help="how many (default 4)")
    parser.add_argument("--simple-shm", default="weston-simple-shm",
                        help="weston-simple-shm (default: from PATH)")
    parser.add_argument("--client-demo", help="client-demo, for --client good")
    parser.add_argument("--window-size", type=parse_size, default=(1920, 1080),
                        help="client-demo good's window (default 1920x1080)")
    parser.add_argument("--rounds", type=int, default=4,
                        help="rounds of one run per variant (default 4)")
    parser.add_argument("--seconds", type=float, default=seconds,
                        help=f"measured seconds per run (default {seconds:g})")
    parser.add_argument("--warmup", type=float, default=warmup,
                        help="seconds between the clients' start and the measurement "
                        f"(default {warmup:g})")
    parser.add_argument("--csv", help="write variant,round,cpu_ms_per_s,fps,cpu_ms_per_frame,"
                        "window_fps rows")
    parser.add_argument("--keep-logs", metavar="DIR",
                        help="write each run's compositor output to DIR/run-N-VARIANT.log")


def check_arguments(parser, args, prog):
    """Usage errors exit 2; missing clients or preload skip (77). Fills in
    the clients' paths."""
    if args.rounds < 1 or args.clients < 1 or args.seconds < 2.5 or args.warmup < 0.5:
        parser.error("need --rounds >= 1, --clients >= 1, --seconds >= 2.5 (client-demo "
                     "prints its counters once a second), --warmup >= 0.5")
    if args.client == "good" and args.client_demo is None:
        parser.error("--client good needs --client-demo PATH")
    if not os.access(args.preload, os.R_OK):
        skip(prog, f"no preload at {args.preload}")
    if asan_runtime(args.preload) is not None:
        skip(prog, f"{args.preload} is built with AddressSanitizer: its cost would be "
             "the sanitizer's")
    if args.client == "good":
        if not os.access(args.client_demo, os.X_OK):
            skip(prog, f"no client-demo at {args.client_demo}")
    else:
        simple_shm = shutil.which(args.simple_shm)
        if simple_shm is None:
            skip(prog, f"no {args.simple_shm} (Debian package weston)")
        args.simple_shm = simple_shm
    if args.keep_logs is not None:
        os.makedirs(args.keep_logs, exist_ok=True)


def asan_runtime(library):
    """The AddressSanitizer runtime @library is linked with, or None."""
    try:
        done = subprocess.run(["ldd", library], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    except OSError:
        return None
    match = re.search(r"^\s*\S*lib(?:clang_rt\.)?asan\S*\.so\S* => (\S+)", done.stdout, re.M)
    return match[1] if match else None


def clients_title(args, simple_shm_size="250x250"):
    """What the clients are, weston-simple-shm's windows being
    @simple_shm_size."""
    if args.client == "good":
        return f"{args.clients} x client-demo good at {args.window_size[0]}x" \
               f"{args.window_size[1]}"
    return f"{args.clients} x weston-simple-shm ({simple_shm_size})"


def run_once(args, compositor, variant, index):
    """One run of @compositor as @variant: start it, its clients and the
    frame counter, measure, stop it. Returns the run's measurements."""
    name = compositor.name
    runtime_dir = tempfile.mkdtemp(prefix=f"bench-{name}-preload-")
    os.chmod(runtime_dir, 0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=runtime_dir)
    for variable in ("WAYLAND_DISPLAY", "WAYLAND_SOCKET", "DISPLAY", "LD_PRELOAD"):
        env.pop(variable, None)

    reader = Reader()
    process = None
    clients = []
    counter = None
    state = {"log": [], "hung_up": False}

    def on_compositor_line(line, now):
        state["log"].append(line)

    def on_counter_readable():
        if not counter.read_events():
            reader.remove(counter.socket)
            state["hung_up"] = True

    def check_alive():
        if process.poll() is not None:
            raise RunFailed(f"{name} exited ({process.returncode})")
        if counter is not None and (state["hung_up"] or counter.error is not None):
            raise RunFailed(f"frame counter: {counter.error or name + ' hung up'}")
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
        compositor.prepare(runtime_dir)
        process = compositor.start(variant, index, runtime_dir, dict(env))
        reader.add_lines(process.stdout, on_compositor_line)
        socket_name = None
        deadline = time.monotonic() + START_TIMEOUT
        while socket_name is None:
            socket_name = compositor.socket_name(runtime_dir, index)
            if socket_name is None:
                run_until(min(deadline, time.monotonic() + 0.02))
                if time.monotonic() >= deadline:
                    raise RunFailed(f"{name} made no Wayland socket in {START_TIMEOUT:g} s")

        client_env = dict(env, WAYLAND_DISPLAY=socket_name)
        for _ in range(args.clients):
            if args.client == "good":
                argv = [args.client_demo, "good", "--size", "%dx%d" % args.window_size]
            else:
                argv = [args.simple_shm]
            client_process = subprocess.Popen(argv, env=client_env, stdin=subprocess.DEVNULL,
                                              stdout=subprocess.PIPE,
                                              stderr=subprocess.STDOUT)
            client = Client(client_process)
            clients.append(client)
            reader.add_lines(client_process.stdout, client.on_line)
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
        # Which wl_shm this compositor serves: the preload's line (printed
        # when the compositor made its wl_shm global, before it listened,
        # long read by now), or none.
        served_by_preload = any(compositor.served_re.search(line) for line in state["log"])
        if served_by_preload != (variant == PRELOAD):
            raise RunFailed(f"{name}'s log says wl_shm is served by " + (
                "the preload" if served_by_preload else f"{compositor.baseline} (no line "
                f"matching /{compositor.served_re.pattern.decode()}/)"))
        pid = process.pid
        # schedstat counts to the nanosecond, /proc/PID/stat to the clock
        # tick (10 ms: 1 ms/s over 10 s); the first holds only while the
        # same threads run from start to end.
        threads_start = sorted(os.listdir(f"/proc/{pid}/task"))
        fine_start, cpu_start = cpu_seconds_fine(pid), cpu_seconds(pid)
        cpu_start_at = time.monotonic()
        measure_end = measure_start + args.seconds
        run_until(measure_end)
        fine_end, cpu_end = cpu_seconds_fine(pid), cpu_seconds(pid)
        cpu_end_at = time.monotonic()
        threads_end = sorted(os.listdir(f"/proc/{pid}/task"))
        fine = None not in (fine_start, fine_end) and threads_start == threads_end
        cpu = fine_end - fine_start if fine else cpu_end - cpu_start
        # A last look at what the clients printed before the end; the
        # frame counter's part is over.
        reader.poll(0.0)
        if not state["hung_up"]:
            reader.remove(counter.socket)

        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise RunFailed(f"{name} did not exit on SIGTERM") from None
        # What it said while exiting, up to the end of its output (a
        # child of its may hold the pipe: not longer than EXIT_TIMEOUT).
        drain_end = time.monotonic() + EXIT_TIMEOUT
        while process.stdout in reader.selector.get_map() and time.monotonic() < drain_end:
            reader.poll(0.1)
        if process.returncode != 0:
            raise RunFailed(f"{name} exited with {process.returncode} on SIGTERM")
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
        notes = [line for line in state["log"]
                 if NOTE_RE.search(line) and not compositor.served_re.search(line)]
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
        raise RunFailed(f"{variant} run {index + 1}: {error}\n{name}'s last lines:\n{log}") \
            from None
    finally:
        if process is not None:
            stop(process)
        for client in clients:
            stop(client.process)
        if counter is not None:
            counter.close()
        if process is not None:
            process.stdout.close()
        for client in clients:
            client.process.stdout.close()
        reader.close()
        if args.keep_logs is not None:
            path = os.path.join(args.keep_logs, f"run-{index + 1}-{variant}.log")
            with open(path, "wb") as out:
                out.write(b"".join(line + b"\n" for line in state["log"]))
        shutil.rmtree(runtime_dir, ignore_errors=True)


def format_value(key, value):
    if value is None:
        return "-"
    return f"{value:.1f}" if key in ("cpu_ms_per_s", "fps", "window_fps") else f"{value:.3f}"


def run_rounds(args, compositor, prog):
    """--rounds rounds of one run per variant, ABBA, each run printed as it
    ends; then the medians and ratios. Returns the exit status."""
    name = compositor.name
    baseline = compositor.baseline
    keys = [k for k in KEYS if k != "window_fps" or args.client == "good"]
    key_titles = {
        "cpu_ms_per_s": f"{name} CPU ms per second",
        "fps": "compositor frames per second",
        "cpu_ms_per_frame": f"{name} CPU ms per frame",
        "window_fps": "frames per second, each window",
    }
    title_width = max(len(t) for t in compositor.titles.values()) + 2
    header = "".join(f"{COLUMN_TITLES[k]:>16}" for k in keys)
    print(f"  {'run':>3}  {'wl_shm':<{title_width}}{header}")

    results = []
    started = time.monotonic()
    for round_index in range(args.rounds):
        variants = compositor.variants
        order = variants if round_index % 2 == 0 else tuple(reversed(variants))
        for variant in order:
            try:
                result = run_once(args, compositor, variant, len(results))
            except RunFailed as error:
                print(f"{prog}: {error}", file=sys.stderr)
                return 1
            result["round"] = round_index + 1
            results.append(result)
            cells = "".join(f"{format_value(k, result[k]):>16}" for k in keys)
            print(f"  {len(results):>3}  {compositor.titles[variant]:<{title_width}}{cells}")
            for note in result["preload_notes"][:5]:
                print(f"       {name} said: {note.decode(errors='replace')}")

    print()
    print(f"  {'measurement (median of ' + str(args.rounds) + ' runs)':<34}"
          f"{baseline:>12}{PRELOAD:>12}{'ratio':>8}   round ratios median (min-max)")
    for key in keys:
        medians = {v: statistics.median(r[key] for r in results if r["variant"] == v)
                   for v in compositor.variants}
        ratios = []
        for round_index in range(1, args.rounds + 1):
            pair = {r["variant"]: r[key] for r in results if r["round"] == round_index}
            ratios.append(pair[PRELOAD] / pair[baseline])
        print(f"  {key_titles[key]:<34}{format_value(key, medians[baseline]):>12}"
              f"{format_value(key, medians[PRELOAD]):>12}"
              f"{medians[PRELOAD] / medians[baseline]:>8.3f}   "
              f"{statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f})")
    print()
    print(f"(ratio: preload / {baseline} of the medians; round ratios: preload / {baseline} "
          "within each round;")
    fine = sum(r["cpu_source"] == "schedstat" for r in results)
    print(f" {name}'s CPU time from schedstat (ns) in {fine} of {len(results)} runs, else "
          "from /proc/PID/stat;")
    for line in compositor.cpu_note[:-1]:
        print(f" {line}")
    print(f" {compositor.cpu_note[-1]}; whole run {time.monotonic() - started:.0f} s)")

    if args.csv is not None:
        with open(args.csv, "w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(("variant", "round") + KEYS)
            for r in results:
                writer.writerow([r["variant"], r["round"]]
                                + [format_value(k, r[k]) for k in KEYS])
    return 0

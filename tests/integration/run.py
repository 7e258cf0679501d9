#!/usr/bin/env python3
"""End-to-end tests: compositor-demo (headless) against client-demo and real
Debian clients. One test per run:

    run.py --compositor PATH --client PATH TEST

Each test gets its own XDG_RUNTIME_DIR and socket, a time limit on every
step, and checks that the compositor survives, exits cleanly (status 0, so
also clean under LeakSanitizer in sanitizer builds) and holds no more file
descriptors after its clients left than before they came.

Exit status: 0 passed, 1 failed, 77 skipped (Meson's convention).
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zlib

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
# wlroots 0.15 defers destroying globals by 5 s (wlr_global_destroy_safe);
# at exit its timers are never run. The suppression names wlroots only.
LSAN_SUPPRESSIONS = os.path.join(HERE, "lsan-wlroots.supp")


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class Skip(Exception):
    pass


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Session:
    """One private runtime directory and socket, and the processes in it."""

    def __init__(self, args):
        self.args = args
        self.dir = tempfile.mkdtemp(prefix="shmguard-it-")
        os.chmod(self.dir, 0o700)
        self.socket = f"shmguard-test-{os.getpid()}"
        self.env = dict(os.environ)
        for name in ("WAYLAND_DISPLAY", "WAYLAND_SOCKET", "DISPLAY"):
            self.env.pop(name, None)
        self.env["XDG_RUNTIME_DIR"] = self.dir
        self.env["LSAN_OPTIONS"] = ":".join(
            filter(None, [self.env.get("LSAN_OPTIONS", ""),
                          f"suppressions={LSAN_SUPPRESSIONS}", "print_suppressions=0"]))
        # Full stacks, so that the suppression can see wlroots' frames.
        self.env["ASAN_OPTIONS"] = ":".join(
            filter(None, [self.env.get("ASAN_OPTIONS", ""), "fast_unwind_on_malloc=0"]))
        self.client_env = dict(self.env, WAYLAND_DISPLAY=self.socket)
        self.compositor = None
        self.compositor_log = os.path.join(self.dir, "compositor.log")
        self.background = []
        self.fds_at_start = None

    def path(self, name):
        return os.path.join(self.dir, name)

    # -- the compositor ------------------------------------------------

    def start_compositor(self, *extra, screenshot=None, open_files=None):
        """open_files: a hard and soft RLIMIT_NOFILE for the compositor."""
        cmd = [self.args.compositor, "--headless", "--socket", self.socket,
               "--size", "800x600"]
        if screenshot:
            cmd += ["--screenshot", screenshot]
        cmd += list(extra)
        self.launch_compositor(cmd, open_files=open_files, stdout=subprocess.PIPE)
        line = self._readline_with_timeout(self.compositor.stdout, 20)
        check(line == f"WAYLAND_DISPLAY={self.socket}\n",
              f"compositor did not announce its socket (got {line!r})")
        check(os.path.exists(self.path(self.socket)), "socket file missing")
        time.sleep(0.3)
        self.fds_at_start = self.compositor_fds()

    def launch_compositor(self, cmd, open_files=None, env=None, stdout=None):
        """Start @cmd as the compositor, its stderr to compositor_log;
        open_files: a hard and soft RLIMIT_NOFILE for it."""
        log("$ " + " ".join(cmd))
        self.compositor_stderr = open(self.compositor_log, "w")
        limit = None
        if open_files is not None:
            import resource

            def limit():
                resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))
        self.compositor = subprocess.Popen(cmd, env=env or self.env, stdout=stdout,
                                           stderr=self.compositor_stderr, text=True,
                                           preexec_fn=limit)

    @staticmethod
    def _readline_with_timeout(stream, seconds):
        import selectors
        selector = selectors.DefaultSelector()
        selector.register(stream, selectors.EVENT_READ)
        if not selector.select(seconds):
            return ""
        return stream.readline()

    def compositor_fds(self):
        return sorted(os.listdir(f"/proc/{self.compositor.pid}/fd"), key=int)

    def compositor_alive(self):
        return self.compositor.poll() is None

    def compositor_text(self):
        self.compositor_stderr.flush()
        with open(self.compositor_log) as f:
            return f.read()

    def screenshot(self, timeout=10):
        """SIGUSR1: the compositor rewrites its --screenshot file."""
        before = self.compositor_text().count("screenshot of ")
        self.compositor.send_signal(signal.SIGUSR1)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.compositor_text().count("screenshot of ") > before:
                return
            time.sleep(0.05)
        raise Failure("no screenshot after SIGUSR1")

    def stop_compositor(self, check_fds=True):
        check(self.compositor_alive(),
              f"compositor died (status {self.compositor.returncode})")
        for proc in self.background:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if check_fds:
            # Clients are gone; give the compositor a moment to notice.
            end = time.monotonic() + 5
            while True:
                fds = self.compositor_fds()
                if len(fds) <= len(self.fds_at_start) or time.monotonic() > end:
                    break
                time.sleep(0.1)
            check(len(fds) <= len(self.fds_at_start),
                  f"compositor holds {len(fds)} fds after its clients left, "
                  f"{len(self.fds_at_start)} before they came: "
                  f"{self._describe_fds(set(fds) - set(self.fds_at_start))}")
        self.compositor.send_signal(signal.SIGTERM)
        try:
            status = self.compositor.wait(30)
        except subprocess.TimeoutExpired:
            self.compositor.kill()
            raise Failure("compositor did not exit within 30 s of SIGTERM")
        check(status == 0, f"compositor exited with status {status}")

    def _describe_fds(self, fds):
        out = []
        for fd in sorted(fds, key=int):
            try:
                out.append(f"{fd} -> {os.readlink(f'/proc/{self.compositor.pid}/fd/{fd}')}")
            except OSError:
                out.append(fd)
        return ", ".join(out)

    # -- clients -------------------------------------------------------

    def run(self, cmd, timeout=20, env=None, expect=None, cwd=None):
        """Run a client to its end; returns (status, stdout + stderr)."""
        log("$ " + " ".join(cmd))
        try:
            done = subprocess.run(cmd, env=env or self.client_env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, timeout=timeout,
                                  cwd=cwd)
        except subprocess.TimeoutExpired as e:
            raise Failure(f"{cmd[0]} did not finish within {timeout} s; "
                          f"output: {e.output}")
        sys.stdout.write(done.stdout)
        if expect is not None:
            check(done.returncode == expect,
                  f"{' '.join(cmd)} exited with {done.returncode}, expected {expect}")
        check(self.compositor_alive(), "compositor died")
        return done.returncode, done.stdout

    def client(self, *args, **kwargs):
        return self.run([self.args.client] + list(args), **kwargs)

    def spawn(self, cmd, name, env=None):
        """Start a long-running client; its output goes to a file."""
        log("$ " + " ".join(cmd) + " &")
        out = open(self.path(name + ".log"), "w")
        proc = subprocess.Popen(cmd, env=env or self.client_env, stdout=out,
                                stderr=subprocess.STDOUT, text=True)
        proc.log_path = self.path(name + ".log")
        self.background.append(proc)
        return proc

    def spawn_good(self, *extra):
        return self.spawn([self.args.client, "good"] + list(extra), "good")

    def close(self, failed):
        for proc in self.background:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if self.compositor is not None and self.compositor.poll() is None:
            self.compositor.kill()
            self.compositor.wait()
        if failed or self.args.keep:
            print(f"--- compositor log ({self.compositor_log}) ---")
            if os.path.exists(self.compositor_log):
                print(open(self.compositor_log).read())
            for proc in self.background:
                print(f"--- {proc.args[0]} {proc.args[1:]} ---")
                print(open(proc.log_path).read()[-4000:])
        if not self.args.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def good_frames(proc):
    """The last frame count client-demo good printed."""
    counts = re.findall(r"frames=(\d+)", open(proc.log_path).read())
    return int(counts[-1]) if counts else 0


def wait_for_frames(proc, at_least, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if good_frames(proc) >= at_least:
            return good_frames(proc)
        check(proc.poll() is None, f"client-demo good exited ({proc.returncode})")
        time.sleep(0.1)
    raise Failure(f"client-demo good did not reach {at_least} frames "
                  f"(at {good_frames(proc)})")


def assert_good_keeps_going(proc, seconds=2.0, at_least=20):
    """The well-behaved client is still being served: its count grows."""
    before = good_frames(proc)
    time.sleep(seconds)
    after = wait_for_frames(proc, before + at_least)
    log(f"good client: {before} frames before, {after} after")
    check(proc.poll() is None, "client-demo good is gone")
    return before, after


# -- a PNG reader, enough for 8-bit RGB/RGBA without interlace --------

def read_png(path):
    data = open(path, "rb").read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width = int.from_bytes(header[0:4], "big")
    height = int.from_bytes(header[4:8], "big")
    depth, color, interlace = header[8], header[9], header[12]
    check(depth == 8 and color in (2, 6) and interlace == 0,
          f"{path}: unsupported PNG (depth {depth}, colour type {color})")
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + a) & 0xff
            elif kind == 2:
                line[x] = (line[x] + b) & 0xff
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xff
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 0xff
        rows.append(bytes(line))
        prev = line
    rgb = b"".join(bytes(r[i:i + 3]) for r in rows for i in range(0, stride, bpp)) \
        if bpp == 4 else b"".join(rows)
    return width, height, rgb


def pixel(image, x, y):
    width, _, rgb = image
    i = (y * width + x) * 3
    return tuple(rgb[i:i + 3])


def count_not_background(image, box):
    """Sampled pixels in box (every other row and column) that differ
    from the background, read at the top-left corner, where no window is."""
    background = pixel(image, 2, 2)
    x0, y0, x1, y1 = box
    return sum(1 for y in range(y0, y1, 2) for x in range(x0, x1, 2)
               if pixel(image, x, y) != background)


# -- the tests ---------------------------------------------------------

def test_good_and_truncate(s):
    """The story of the demo: the malicious client is disconnected with
    wl_shm.invalid_fd, the good one goes on, and a capture shows it."""
    s.start_compositor()
    good = s.spawn_good()
    wait_for_frames(good, 30)
    status, out = s.client("truncate", "--when", "after-commit", expect=0)
    check(re.search(r"protocol error: interface wl_buffer, object \d+, code 2 "
                    r"\(wl_shm\.invalid_fd\), message \"client truncated", out),
          "truncate did not report wl_shm.invalid_fd with the library's message")
    check(re.search(r"fault: client pid \d+ \(client-demo\), wl_shm_pool@\d+ wl_buffer@\d+: "
                    r"truncated, file 0 bytes, at byte \d+: client disconnected with "
                    r"wl_shm.invalid_fd",
                    s.compositor_text()), "compositor logged no fault line")
    assert_good_keeps_going(good)
    png = s.path("capture.png")
    s.client("capture", png, expect=0)
    image = read_png(png)
    check(image[:2] == (800, 600), f"capture is {image[:2]}, not 800x600")
    # The good client's 320x240 window sits at (32, 32).
    check(count_not_background(image, (40, 40, 340, 260)) > 15000,
          "the capture does not show the good client's window")
    s.stop_compositor()


def truncate_case(when, expect, pattern, policy=None):
    def test(s):
        s.start_compositor(*(["--policy", policy] if policy else []))
        good = s.spawn_good()
        wait_for_frames(good, 30)
        status, out = s.client("truncate", "--when", when, "--timeout", "3", expect=expect)
        check(re.search(pattern, out), f"truncate output lacks /{pattern}/")
        assert_good_keeps_going(good)
        s.stop_compositor()
    test.__doc__ = f"truncate --when {when}" + (f" under --policy {policy}" if policy else "")
    return test


INVALID_FD = r"code 2 \(wl_shm\.invalid_fd\)"


def test_capture_refused(s):
    """A capture into a buffer the compositor may not write fails that
    frame only: read-only fd, write-sealed memfd."""
    s.start_compositor()
    good = s.spawn_good()
    wait_for_frames(good, 10)
    for option in ("--read-only-fd", "--write-sealed"):
        status, out = s.client("capture", option, s.path("refused.png"), expect=6)
        check("still connected" in out, "capture client not still connected")
    text = s.compositor_text()
    check("file descriptor is read-only" in text, "no log line for the read-only fd")
    check("sealed against writing" in text, "no log line for the write seal")
    assert_good_keeps_going(good)
    s.stop_compositor()


def builtin_shm(s):
    """Which wl_shm compositor-demo --builtin-shm says it serves: the one
    its wlroots would, "libwayland" (wlroots 0.15) or "wlr_shm" (wlroots'
    own, since 0.17); None if it does not say."""
    m = re.search(r"wl_shm: (libwayland's|wlroots' \(wlr_shm, wlroots [\d.]+\)) "
                  r"\(--builtin-shm\)", s.compositor_text())
    if m is None:
        return None
    return "libwayland" if m[1] == "libwayland's" else "wlr_shm"


def test_builtin_shm(s):
    """--builtin-shm: the wl_shm its wlroots would serve (libwayland's with
    wlroots 0.15, wlroots' wlr_shm since 0.17) serves the same clients."""
    s.start_compositor("--builtin-shm")
    check(builtin_shm(s) is not None, "compositor-demo does not say which wl_shm it serves")
    good = s.spawn_good()
    wait_for_frames(good, 30)
    s.client("capture", s.path("builtin.png"), expect=0)
    assert_good_keeps_going(good)
    s.stop_compositor()


def test_fuse_client(s):
    """client-demo fuse hands over a file on its own FUSE mount whose
    daemon never answers (reads; then also getattr and statfs): it is
    refused with wl_shm.invalid_fd naming fuse, quickly, while the good
    client keeps animating. A compositor that reads the file or fstat()s
    it would stop answering (client-demo exits 7, then frees it)."""
    out = subprocess.run([s.args.client, "--help"], stdout=subprocess.PIPE, text=True,
                         timeout=10).stdout
    if "  fuse " not in out:
        raise Skip("client-demo was built without libfuse3 (Debian package libfuse3-dev)")
    try:
        os.close(os.open("/dev/fuse", os.O_RDWR))
    except OSError as e:
        raise Skip(f"/dev/fuse cannot be used here: {e.strerror}")
    s.start_compositor()
    good = s.spawn_good()
    wait_for_frames(good, 10)
    for stall in ("data", "all"):
        status, out = s.client("fuse", "--stall", stall, "--timeout", "2", timeout=30)
        check(status == 0 and re.search(
            r"^fuse: protocol error: interface wl_shm, object \d+, code 2 "
            r"\(wl_shm\.invalid_fd\), message \"[^\"]*fuse", out, re.M),
            f"client-demo fuse --stall {stall}: exit {status}, not refused with "
            "wl_shm.invalid_fd naming fuse")
        assert_good_keeps_going(good, seconds=1.0, at_least=10)
    s.stop_compositor()


def need(program, package):
    path = shutil.which(program)
    if path is None:
        raise Skip(f"{program} not installed (Debian package {package})")
    return path


def test_weston_simple_shm(s):
    """weston-simple-shm shows frames for 3 s."""
    program = need("weston-simple-shm", "weston")
    s.start_compositor()
    env = dict(s.client_env, WAYLAND_DEBUG="client")
    proc = s.spawn([program], "weston-simple-shm", env=env)
    time.sleep(3)
    check(proc.poll() is None, f"weston-simple-shm exited early ({proc.returncode})")
    proc.send_signal(signal.SIGINT)
    proc.wait(10)
    trace = open(proc.log_path).read()
    frames = len(re.findall(r"wl_callback[@#]\d+\.done\(", trace))
    attaches = len(re.findall(r"wl_surface[@#]\d+\.attach\(wl_buffer[@#]", trace))
    log(f"weston-simple-shm: {attaches} buffers attached, {frames} callbacks in 3 s")
    check("protocol error" not in trace.lower(), "weston-simple-shm got a protocol error")
    check(frames >= 60 and attaches >= 60, "weston-simple-shm showed fewer than 60 frames")
    s.stop_compositor()


def test_wayland_info(s):
    """wayland-info lists our wl_shm and its formats."""
    program = need("wayland-info", "wayland-utils")
    s.start_compositor()
    status, out = s.run([program], expect=0)
    check("interface: 'wl_shm'" in out, "no wl_shm in wayland-info's list")
    shm = out.split("interface: 'wl_shm'", 1)[1].split("interface:", 1)[0]
    formats = re.findall(r"(0x[0-9a-f]+|\d+) = '(\w+)'", shm)
    names = {name for _, name in formats}
    log(f"wl_shm formats: {sorted(names)}")
    check({"AR24", "XR24"} <= names, "ARGB8888 or XRGB8888 missing")
    check(len(formats) > 2, "no format besides the two mandatory ones")
    check("zwlr_screencopy_manager_v1" in out and "xdg_wm_base" in out
          and "wl_seat" in out and "wl_data_device_manager" in out,
          "a global is missing")
    s.stop_compositor()


def test_grim(s):
    """grim captures a PNG whose pixels match the compositor's screenshot."""
    program = need("grim", "grim")
    shot = s.path("screenshot.png")
    s.start_compositor(screenshot=shot)
    good = s.spawn_good("--still")
    wait_for_frames(good, 10)
    grim_png = s.path("grim.png")
    s.run([program, grim_png], expect=0)
    s.screenshot()
    ours, theirs = read_png(shot), read_png(grim_png)
    check(ours[:2] == theirs[:2], f"sizes differ: {ours[:2]} vs {theirs[:2]}")
    differing = sum(1 for i in range(0, len(ours[2]), 3) if ours[2][i:i + 3] != theirs[2][i:i + 3])
    log(f"grim vs screenshot: {differing} of {ours[0] * ours[1]} pixels differ")
    check(differing == 0, f"{differing} pixels differ")
    check(count_not_background(ours, (40, 40, 340, 260)) > 15000, "the window is not shown")
    s.stop_compositor()


def test_foot(s):
    """foot starts and renders (it needs wl_seat and wl_data_device_manager)."""
    program = need("foot", "foot")
    shot = s.path("screenshot.png")
    s.start_compositor(screenshot=shot)
    env = dict(s.client_env, SHELL="/bin/sh")
    proc = s.spawn([program, "--", "/bin/sh", "-c", "echo shmguard; sleep 30"], "foot", env=env)
    # The window comes first, the shell's line of text a frame or more
    # later (on a loaded machine, seconds): wait for both.
    end = time.monotonic() + 10
    shown = text = 0
    while time.monotonic() < end:
        check(proc.poll() is None, f"foot exited ({proc.returncode})")
        time.sleep(0.5)
        s.screenshot()
        image = read_png(shot)
        shown = count_not_background(image, (32, 32, 700, 500))
        # Below its title bar, the terminal shows text: light pixels on dark.
        text = sum(1 for y in range(60, 110) for x in range(34, 400)
                   if sum(pixel(image, x, y)) > 3 * 150)
        if shown > 20000 and text > 50:
            break
    log(f"foot: {shown} sampled pixels not background")
    check(shown > 20000, "foot's window is not on the screen")
    shutil.copy(shot, s.path("foot-shown.png"))  # for --keep
    log(f"foot: {text} light pixels where its first lines of text are")
    check(text > 50, "foot's window shows no text")
    s.stop_compositor()


def test_nested(s):
    """compositor-demo nested in compositor-demo (wlroots' Wayland backend):
    the inner one's output is a client window of the outer one."""
    s.start_compositor()
    inner_socket = s.socket + "-inner"
    # wlroots 0.15's Wayland backend leaves swapchain buffers behind at exit
    # (its own allocations): the leak check stays on for the outer one.
    inner_env = dict(s.client_env,
                     ASAN_OPTIONS=s.client_env["ASAN_OPTIONS"] + ":detect_leaks=0")
    inner = s.spawn([s.args.compositor, "--socket", inner_socket], "inner-compositor",
                    env=inner_env)
    end = time.monotonic() + 10
    while not os.path.exists(s.path(inner_socket)):
        check(inner.poll() is None, f"nested compositor exited ({inner.returncode})")
        check(time.monotonic() < end, "nested compositor did not listen")
        time.sleep(0.1)
    good = s.spawn([s.args.client, "good"], "good",
                   env=dict(s.client_env, WAYLAND_DISPLAY=inner_socket))
    wait_for_frames(good, 30)
    png = s.path("outer.png")
    s.client("capture", png, expect=0)
    # Outer window at (32, 32), the good client's inside it at (32, 32).
    check(count_not_background(read_png(png), (70, 70, 380, 290)) > 15000,
          "the nested compositor's window does not show the good client")
    good.send_signal(signal.SIGTERM)
    good.wait(10)
    inner.send_signal(signal.SIGTERM)
    check(inner.wait(30) == 0, f"nested compositor exited with {inner.returncode}")
    s.stop_compositor()


# -- must-fail cases: the harness must catch crashes, hangs and fd leaks --

def expect_failure(case, pattern):
    """A self-test passes only if @case fails in the harness with a message
    matching @pattern: a harness that misses the problem fails it."""
    def test(s):
        try:
            case(s)
        except Failure as e:
            check(re.search(pattern, str(e)), f"harness failed for another reason: {e}")
            log(f"the harness caught it, as it must: {e}")
            return
        raise Failure("the harness did not notice")
    test.__doc__ = case.__doc__
    return test


def crash_case(s):
    """The harness notices a compositor that dies (SIGBUS from outside)."""
    s.start_compositor()
    good = s.spawn_good()
    wait_for_frames(good, 10)
    s.compositor.send_signal(signal.SIGBUS)
    time.sleep(1)
    s.client("good", "--duration", "0.5")
    s.stop_compositor()


def hang_case(s):
    """The harness notices a client that does not finish in time."""
    s.start_compositor()
    s.client("good", timeout=2)
    s.stop_compositor()


def fd_leak_case(s):
    """The harness notices more fds at the end than at the start (pointed
    at a stand-in process that opens one file meanwhile)."""
    s.start_compositor()
    s.stop_compositor(check_fds=False)
    s.compositor = subprocess.Popen([sys.executable, "-c",
                                     "import os, time; time.sleep(0.5); "
                                     "f = open(os.devnull); time.sleep(30)"])
    s.fds_at_start = s.compositor_fds()
    time.sleep(1.5)
    s.stop_compositor()


TESTS = {
    "good-and-truncate": test_good_and_truncate,
    "truncate-before-commit": truncate_case("before-commit", 0, INVALID_FD),
    "truncate-race": truncate_case("race", 0, INVALID_FD),
    # A capture into a buffer the client truncated is a fault like any
    # other: the frame fails and the default policy disconnects the client.
    "truncate-during-capture": truncate_case("during-capture", 0, INVALID_FD),
    "policy-zeros": truncate_case("after-commit", 5, r"still connected", "zeros"),
    "policy-revalidate": truncate_case("after-commit", 5, r"still connected", "revalidate"),
    "capture-refused": test_capture_refused,
    "builtin-shm": test_builtin_shm,
    "fuse-client": test_fuse_client,
    "weston-simple-shm": test_weston_simple_shm,
    "wayland-info": test_wayland_info,
    "grim": test_grim,
    "foot": test_foot,
    "nested": test_nested,
    "harness-catches-crash": expect_failure(crash_case, r"compositor died"),
    "harness-catches-hang": expect_failure(hang_case, r"did not finish within 2 s"),
    "harness-catches-fd-leak": expect_failure(fd_leak_case, r"holds \d+ fds after"),
}


def run_one(tests, description, make_context, extra_paths=()):
    """Parse the command line (--compositor, --client, each of extra_paths,
    --keep, the test's name), run that test with the context
    make_context(args) gives, and return the exit status meson reads."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--compositor", required=True)
    parser.add_argument("--client", required=True)
    for option in extra_paths:
        parser.add_argument(option, required=True)
    parser.add_argument("--keep", action="store_true", help="keep the runtime directories")
    parser.add_argument("test", choices=sorted(tests))
    args = parser.parse_args()
    test = tests[args.test]
    log(f"{args.test}: {test.__doc__.strip().splitlines()[0]}")
    context = make_context(args)
    failed = True
    try:
        test(context)
        failed = False
        log(f"{args.test}: passed")
        return 0
    except Skip as e:
        failed = False
        log(f"{args.test}: skipped: {e}")
        return SKIP
    except Failure as e:
        log(f"{args.test}: FAILED: {e}")
        return 1
    finally:
        context.close(failed)


def main():
    return run_one(TESTS, __doc__.splitlines()[0], Session)


if __name__ == "__main__":
    sys.exit(main())

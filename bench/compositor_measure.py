"""Measuring a headless compositor from outside, for the benchmark scripts
(bench-compositor; bench-weston-preload and bench-sway-preload through
preload_compare.py): its CPU time, its frames (a 1x1 window spoken to in
the raw wire protocol), the lines its processes print, and `client-demo
good`'s frame counters.
"""
import os
import re
import selectors
import socket
import struct
import subprocess
import time

START_TIMEOUT = 10.0
EXIT_TIMEOUT = 10.0
CLIENT_RE = re.compile(rb"good: (?:running|done) frames=(\d+)")
CLK_TCK = os.sysconf("SC_CLK_TCK")


class RunFailed(Exception):
    pass


def cpu_seconds(pid):
    """User + system CPU time of process @pid so far."""
    with open(f"/proc/{pid}/stat", "rb") as stat:
        # The command name may hold spaces: fields count from its ')'.
        fields = stat.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_seconds_fine(pid):
    """CPU time of process @pid so far, to the nanosecond: the sum over its
    threads of the time on a CPU in /proc/PID/task/TID/schedstat. Threads
    that ended are not counted: compare two values only while the same
    threads run. None where the kernel keeps no schedstat."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as schedstat:
                total += int(schedstat.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total / 1e9


# ---------------------------------------------------------------------
# The frame counter: a minimal Wayland client on the raw wire protocol
# ---------------------------------------------------------------------

# Opcodes, from wayland.xml and xdg-shell.xml.
WL_DISPLAY_SYNC, WL_DISPLAY_GET_REGISTRY = 0, 1
WL_DISPLAY_ERROR = 0
WL_REGISTRY_BIND, WL_REGISTRY_GLOBAL = 0, 0
WL_CALLBACK_DONE = 0
WL_COMPOSITOR_CREATE_SURFACE = 0
WL_SHM_CREATE_POOL = 0
WL_SHM_POOL_CREATE_BUFFER = 0
WL_SURFACE_ATTACH, WL_SURFACE_DAMAGE, WL_SURFACE_FRAME, WL_SURFACE_COMMIT = 1, 2, 3, 6
XDG_WM_BASE_GET_XDG_SURFACE, XDG_WM_BASE_PONG, XDG_WM_BASE_PING = 2, 3, 0
XDG_SURFACE_GET_TOPLEVEL, XDG_SURFACE_ACK_CONFIGURE, XDG_SURFACE_CONFIGURE = 1, 4, 0
WL_SHM_FORMAT_XRGB8888 = 1


def wire_string(text):
    data = text.encode() + b"\0"
    return struct.pack("=I", len(data)) + data + b"\0" * (-len(data) % 4)


class FrameCounter:
    """A 1x1 toplevel that asks for a frame callback after every frame and
    notes when each one arrives."""

    def __init__(self, path):
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.socket.connect(path)
        self.incoming = b""
        self.next_id = 2  # 1 is wl_display
        self.handlers = {}  # object id -> function(opcode, payload)
        self.frames = []  # arrival time of each frame callback
        self.error = None
        self.configured = False
        self.globals = {}
        self.shm_fd = None

    def new_id(self, handler=None):
        object_id = self.next_id
        self.next_id += 1
        if handler is not None:
            self.handlers[object_id] = handler
        return object_id

    def send(self, object_id, opcode, payload=b"", fds=()):
        message = struct.pack("=II", object_id, (8 + len(payload)) << 16 | opcode) + payload
        if fds:
            socket.send_fds(self.socket, [message], list(fds))
        else:
            self.socket.sendall(message)

    def read_events(self):
        """Dispatch what the compositor sent; False once it hung up."""
        try:
            chunk = self.socket.recv(65536)
        except (BlockingIOError, InterruptedError, TimeoutError):
            return True
        except OSError:
            return False
        if not chunk:
            return False
        self.incoming += chunk
        while len(self.incoming) >= 8:
            object_id, word = struct.unpack_from("=II", self.incoming)
            size = word >> 16
            if len(self.incoming) < size:
                break
            payload = self.incoming[8:size]
            self.incoming = self.incoming[size:]
            handler = self.handlers.get(object_id)
            if handler is not None:
                handler(word & 0xffff, payload)
        return True

    def roundtrip(self, timeout):
        done = []
        callback = self.new_id(lambda opcode, payload: done.append(True))
        self.send(1, WL_DISPLAY_SYNC, struct.pack("=I", callback))
        self.wait(lambda: done, timeout, "a wl_display.sync")

    def wait(self, condition, timeout, what):
        deadline = time.monotonic() + timeout
        self.socket.settimeout(0.1)
        try:
            while not condition():
                if self.error is not None:
                    raise RunFailed(f"frame counter: {self.error}")
                if time.monotonic() >= deadline:
                    raise RunFailed(f"frame counter: timed out waiting for {what}")
                if not self.read_events():
                    raise RunFailed("frame counter: the compositor hung up")
        finally:
            self.socket.setblocking(False)

    def on_display(self, opcode, payload):
        if opcode == WL_DISPLAY_ERROR:
            object_id, code, length = struct.unpack_from("=III", payload)
            message = payload[12:12 + length - 1].decode(errors="replace")
            self.error = f"protocol error {code} on object {object_id}: {message}"

    def on_registry(self, opcode, payload):
        if opcode == WL_REGISTRY_GLOBAL:
            name, length = struct.unpack_from("=II", payload)
            interface = payload[8:8 + length - 1].decode()
            (version,) = struct.unpack_from("=I", payload, 8 + length + (-length % 4))
            self.globals[interface] = (name, version)

    def bind(self, registry, interface, version, handler=None):
        if interface not in self.globals:
            raise RunFailed(f"frame counter: the compositor has no {interface}")
        name, advertised = self.globals[interface]
        object_id = self.new_id(handler)
        self.send(registry, WL_REGISTRY_BIND, struct.pack("=I", name) + wire_string(interface)
                  + struct.pack("=II", min(version, advertised), object_id))
        return object_id

    def start(self):
        """Map the window and ask for the first frame callback."""
        self.handlers[1] = self.on_display
        registry = self.new_id(self.on_registry)
        self.send(1, WL_DISPLAY_GET_REGISTRY, struct.pack("=I", registry))
        self.roundtrip(START_TIMEOUT)
        compositor = self.bind(registry, "wl_compositor", 1)
        shm = self.bind(registry, "wl_shm", 1)
        wm_base = self.bind(registry, "xdg_wm_base", 1)
        self.handlers[wm_base] = lambda opcode, payload: (
            opcode == XDG_WM_BASE_PING and self.send(wm_base, XDG_WM_BASE_PONG, payload))

        self.shm_fd = os.memfd_create("bench-frame-counter", os.MFD_CLOEXEC)
        os.ftruncate(self.shm_fd, 4)
        pool = self.new_id()
        self.send(shm, WL_SHM_CREATE_POOL, struct.pack("=Ii", pool, 4), fds=[self.shm_fd])
        self.buffer = self.new_id()
        self.send(pool, WL_SHM_POOL_CREATE_BUFFER, struct.pack(
            "=IiiiiI", self.buffer, 0, 1, 1, 4, WL_SHM_FORMAT_XRGB8888))

        self.surface = self.new_id()
        self.send(compositor, WL_COMPOSITOR_CREATE_SURFACE, struct.pack("=I", self.surface))
        xdg_surface = self.new_id()

        def on_xdg_surface(opcode, payload):
            if opcode == XDG_SURFACE_CONFIGURE:
                self.send(xdg_surface, XDG_SURFACE_ACK_CONFIGURE, payload)
                self.configured = True

        self.handlers[xdg_surface] = on_xdg_surface
        self.send(wm_base, XDG_WM_BASE_GET_XDG_SURFACE,
                  struct.pack("=II", xdg_surface, self.surface))
        self.send(xdg_surface, XDG_SURFACE_GET_TOPLEVEL, struct.pack("=I", self.new_id()))
        self.send(self.surface, WL_SURFACE_COMMIT)
        self.wait(lambda: self.configured, START_TIMEOUT, "xdg_surface.configure")
        self.send(self.surface, WL_SURFACE_ATTACH, struct.pack("=Iii", self.buffer, 0, 0))
        self.send(self.surface, WL_SURFACE_DAMAGE, struct.pack("=iiii", 0, 0, 1, 1))
        self.request_frame()

    def request_frame(self):
        self.send(self.surface, WL_SURFACE_FRAME, struct.pack("=I", self.new_id(self.on_frame)))
        self.send(self.surface, WL_SURFACE_COMMIT)

    def on_frame(self, opcode, payload):
        if opcode == WL_CALLBACK_DONE:
            self.frames.append(time.monotonic())
            # No attach, no damage: this commit makes the compositor
            # render nothing; it only asks to hear of the next frame.
            self.request_frame()

    def rate(self, start, end):
        inside = [t for t in self.frames if start <= t <= end]
        if len(inside) < 2:
            return None
        return (len(inside) - 1) / (inside[-1] - inside[0]), len(inside) - 1

    def close(self):
        self.socket.close()
        if self.shm_fd is not None:
            os.close(self.shm_fd)


# ---------------------------------------------------------------------
# The processes' output
# ---------------------------------------------------------------------

class Reader:
    """Waits on the processes' pipes and the frame counter's socket."""

    def __init__(self):
        self.selector = selectors.DefaultSelector()
        self.partial = {}

    def add_lines(self, pipe, callback):
        """Call @callback(line, arrival time) for each line of @pipe."""
        os.set_blocking(pipe.fileno(), False)
        self.partial[pipe] = b""
        self.selector.register(pipe, selectors.EVENT_READ, lambda: self.read_lines(pipe, callback))

    def add(self, fileobj, callback):
        self.selector.register(fileobj, selectors.EVENT_READ, callback)

    def remove(self, fileobj):
        self.selector.unregister(fileobj)

    def read_lines(self, pipe, callback):
        now = time.monotonic()
        try:
            chunk = os.read(pipe.fileno(), 65536)
        except BlockingIOError:
            return
        if not chunk:
            self.selector.unregister(pipe)
            if self.partial[pipe]:
                callback(self.partial[pipe], now)
            return
        lines = (self.partial[pipe] + chunk).split(b"\n")
        self.partial[pipe] = lines.pop()
        for line in lines:
            callback(line, now)

    def poll(self, timeout):
        for key, _ in self.selector.select(max(timeout, 0.0)):
            key.data()

    def close(self):
        self.selector.close()


class Client:
    """A `client-demo good` process: when its window came up, and the frame
    counters it prints every second."""

    def __init__(self, process):
        self.process = process
        self.window_at = None
        self.samples = []  # (arrival time, frames drawn)
        self.output = []

    def on_line(self, line, now):
        self.output.append(line)
        if line.startswith(b"good: window") and self.window_at is None:
            self.window_at = now
        match = CLIENT_RE.match(line)
        if match is not None:
            self.samples.append((now, int(match.group(1))))

    def rate(self, start, end):
        """Frames a second between the first counter printed at or after
        @start and the last at or before @end."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return None
        return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])


def stop(process):
    """SIGTERM, then SIGKILL after EXIT_TIMEOUT seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


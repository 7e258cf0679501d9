"""Unmodified wlroots compositors (sway, labwc) with libshmguard's preloads:
what run-sway.py and run-labwc.py share.

Which preload serves a compositor depends on its wlroots, found with ldd:

- wlroots 0.15 and 0.16 serve libwayland's wl_shm (they call
  wl_display_init_shm()): libshmguard-preload.so (--preload) serves it,
  and without a preload libwayland's own does;
- wlroots 0.17 and later serve their own (wlr_shm): the preload built for
  that wlroots (--wlr-preload, libshmguard-preload-wlroots-0.X.so, whose
  wlr_shm_create() and wlr_shm_create_with_renderer() take the place of
  wlroots' own), and without a preload wlr_shm does.

A WlrootsBench is tests/hostile's Bench on such a compositor, so that
run-hostile.py's tests run on it unchanged: compositor() starts it with
the preload, compositor("--builtin-shm") without it, and each session's
`builtin` says which wl_shm serves then (True: libwayland's, "wlr_shm":
wlroots' own, None: libshmguard's), as the hostile tests expect.

Each compositor runs headless (WLR_BACKENDS=headless, pixman renderer, no
input devices) in a private runtime directory, as an unprivileged user
when it refuses root (the directory is then that user's, and the preload
is copied into it, so that the build tree need not be readable by that
user). The clients run as the test's user: root may connect to a socket
in another user's directory. "The compositor's screenshot" is a capture
with client-demo (wlr-screencopy), taken once the screen has settled.

Prerequisites are checked at the first compositor of a test, so that a
missing one skips that test (exit 77) with the reason.
"""
import glob
import importlib.util
import os
import re
import resource
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import test_user  # noqa: E402
from run import Failure, Session, Skip, check, log, read_png  # noqa: E402


def _load_hostile():
    """tests/hostile/run-hostile.py, whose name is not a module name."""
    path = os.path.join(HERE, "..", "hostile", "run-hostile.py")
    spec = importlib.util.spec_from_file_location("run_hostile", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hostile = _load_hostile()

# Each preload's name, which starts every line it writes to stderr:
# libshmguard-preload, libshmguard-preload-wlroots-0.18, ...
LIBWAYLAND_PRELOAD = r"libshmguard-preload"
WLROOTS_PRELOAD = r"libshmguard-preload-wlroots-0\.\d+"
ANY_PRELOAD = rf"^(?:{LIBWAYLAND_PRELOAD}|{WLROOTS_PRELOAD}):"
# The line each prints when it serves wl_shm.
LIBWAYLAND_PRELOAD_SAYS = rf"^{LIBWAYLAND_PRELOAD}: wl_shm served by libshmguard"
WLROOTS_PRELOAD_SAYS = rf"^{WLROOTS_PRELOAD}: wl_shm served by libshmguard"
# The line either prints for the fault of a truncated pool.
FAULT_LOGGED = (ANY_PRELOAD + r" client pid \d+ \(hostile-client\): "
                r"truncated at byte \d+ of its pool")


def wlroots_library(program):
    """(soname, path) of the wlroots @program loads, or (None, None)."""
    needed = subprocess.run(["ldd", program], stdout=subprocess.PIPE, text=True).stdout
    m = re.search(r"^\s*(libwlroots\S*) => (\S+)", needed, re.M)
    return (m[1], m[2]) if m else (None, None)


def wlroots_serves_shm(library):
    """True if the wlroots at @library serves its own wl_shm (0.17 and
    later: it never calls libwayland's wl_display_init_shm())."""
    symbols = subprocess.run(["nm", "-D", "--undefined-only", library],
                             stdout=subprocess.PIPE, text=True).stdout
    return re.search(r"\bwl_display_init_shm\b", symbols) is None


def wlroots_series(soname):
    """"0.18" for libwlroots-0.18.so; None for the older sonames
    (libwlroots.so.10), which do not name their series."""
    m = re.match(r"libwlroots-(\d+\.\d+)\.so", soname or "")
    return m[1] if m else None


def asan_runtime(library):
    """The AddressSanitizer runtime @library needs, or None."""
    done = subprocess.run(["ldd", library], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    m = re.search(r"^\s*\S*lib(?:clang_rt\.)?asan\S*\.so\S* => (\S+)", done.stdout, re.M)
    return m[1] if m else None


def unprivileged_user(program):
    """tests/support/test_user.py's user for @program, or a skip."""
    try:
        return test_user.get_or_create(program, log)
    except test_user.Unavailable as e:
        raise Skip(str(e))


class Preload:
    """The preload that serves a compositor's wl_shm, and what the
    compositor serves without it."""

    def __init__(self, path, says, builtin, contract):
        self.path = path
        self.says = says
        # Session.builtin of a compositor without the preload.
        self.builtin = builtin
        # "libwayland": the preload keeps libwayland's create_buffer bound
        # (offset + stride x height within the pool); "libshmguard": the
        # library's own (the last row's pixels within the pool).
        self.contract = contract


def choose_preload(args, program):
    """The Preload for @program, or Skip with the reason."""
    soname, library = wlroots_library(program)
    if library is None:
        raise Skip(f"{program} loads no wlroots (ldd names no libwlroots)")
    if not wlroots_serves_shm(library):
        if not args.preload or not os.path.exists(args.preload):
            raise Skip("libshmguard-preload.so is not built in this build directory")
        return Preload(args.preload, LIBWAYLAND_PRELOAD_SAYS, True, "libwayland")
    series = wlroots_series(soname)
    if not args.wlr_preload or not os.path.exists(args.wlr_preload):
        raise Skip(f"{program} serves wl_shm with {soname}'s own implementation (wlroots "
                   f"0.17 and later), and this build has no preload for wlroots (built "
                   f"where wlroots 0.18 to 0.20 is found)")
    m = re.search(r"-wlroots-(\d+\.\d+)\.so$", args.wlr_preload)
    if m is None or m[1] != series:
        raise Skip(f"{os.path.basename(args.wlr_preload)} is for another wlroots than "
                   f"{program}'s {soname}")
    return Preload(args.wlr_preload, WLROOTS_PRELOAD_SAYS, "wlr_shm", "libshmguard")


class WlrootsSession(Session):
    """One compositor in a private runtime directory owned by the user it
    runs as. Subclasses say how to start theirs: config(), command() and
    listening()."""

    # The compositor's name in messages.
    NAME = "compositor"

    def __init__(self, args, user, preload):
        super().__init__(args)
        self.user = user
        if user is not None:
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        self.preload = preload
        # Which wl_shm serves (hostile.attack's convention); set at start.
        self.builtin = None
        self.socket = None
        self.screenshots = 0

    # -- what a subclass says -------------------------------------------

    def config(self):
        """Write the compositor's configuration into the runtime
        directory."""

    def command(self, flags):
        raise NotImplementedError

    def listening(self):
        """Whether the compositor is ready for clients."""
        return bool(self.sockets())

    # -- start and stop -------------------------------------------------

    def sockets(self):
        return [os.path.basename(p) for p in glob.glob(self.path("wayland-*"))
                if not p.endswith(".lock")]

    def start(self, with_preload, flags=(), fault_policy=None, open_files=None):
        """Start the compositor with the preload or without it, and wait
        until it listens and its fds have settled. @fault_policy sets
        SHMGUARD_FAULT_POLICY; @open_files a hard and soft
        RLIMIT_NOFILE."""
        self.builtin = None if with_preload else self.preload.builtin
        self.config()
        env = dict(self.env, HOME=self.dir, WLR_BACKENDS="headless", WLR_RENDERER="pixman",
                   WLR_LIBINPUT_NO_DEVICES="1")
        for name in ("LD_PRELOAD", "XDG_CONFIG_HOME", "SWAYSOCK", "I3SOCK",
                     "SHMGUARD_FAULT_POLICY", "SHMGUARD_FILE_POLICY", "SHMGUARD_LOG"):
            env.pop(name, None)
        if fault_policy is not None:
            env["SHMGUARD_FAULT_POLICY"] = fault_policy
        if with_preload:
            # The user the compositor runs as may not reach the build tree.
            copy = self.path(os.path.basename(self.preload.path))
            shutil.copy(self.preload.path, copy)
            env["LD_PRELOAD"] = copy
            runtime = asan_runtime(self.preload.path)
            if runtime is not None:
                env["LD_PRELOAD"] = f"{runtime}:{copy}"
                env["ASAN_OPTIONS"] += ":detect_leaks=0:verify_asan_link_order=0"
        cmd = self.command(flags)
        who = self.user.pw_name if self.user is not None else "the test's user"
        shm = (f"LD_PRELOAD={env['LD_PRELOAD']} " if with_preload
               else f"({'libwayland' if self.builtin is True else self.builtin}'s wl_shm, "
                    f"no preload) ")
        log(f"$ {shm}" + " ".join(cmd) + f"  (as {who})")
        self.compositor_stderr = open(self.compositor_log, "w")
        ids = {}
        if self.user is not None:
            ids = dict(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        limit = None
        if open_files is not None:
            def limit():
                resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))
        self.compositor = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                                           stdout=self.compositor_stderr,
                                           stderr=subprocess.STDOUT, preexec_fn=limit, **ids)
        end = time.monotonic() + 20
        while not self.listening():
            check(self.compositor_alive(),
                  f"{self.NAME} exited at start (status {self.compositor.returncode}): "
                  f"{self.compositor_text()[-2000:]}")
            check(time.monotonic() < end, f"{self.NAME} did not listen within 20 s")
            time.sleep(0.05)
        self.socket = self.sockets()[0]
        self.client_env["WAYLAND_DISPLAY"] = self.socket
        text = self.compositor_text()
        if with_preload:
            check(re.search(self.preload.says, text, re.M),
                  f"{self.NAME}'s stderr lacks the preload's line /{self.preload.says}/")
        else:
            check(not re.search(ANY_PRELOAD, text, re.M),
                  f"a preload is in the {self.NAME} meant to run without it")
        self.fds_at_start = self.settled_fds()

    def settled_fds(self):
        """The compositor's fds once its start-up is over: unchanged for
        0.5 s."""
        end = time.monotonic() + 15
        fds, since = self.compositor_fds(), time.monotonic()
        while time.monotonic() - since < 0.5:
            check(self.compositor_alive(),
                  f"{self.NAME} died at start ({self.compositor.returncode})")
            check(time.monotonic() < end, f"{self.NAME}'s fds did not settle within 15 s")
            time.sleep(0.1)
            now = self.compositor_fds()
            if now != fds:
                fds, since = now, time.monotonic()
        return fds

    def compositor_fds(self):
        """The fds the compositor holds, less wlroots' own output buffers
        (its shm allocator's /dev/shm/wlroots-*: the output's swapchain
        grows as it renders, clients or none) and /dev/urandom, which
        wlroots 0.17 and later open at the first token they make (for a
        toplevel's foreign-toplevel identifier, say) and keep for the
        process's life (util/token.c)."""
        fds = []
        for fd in os.listdir(f"/proc/{self.compositor.pid}/fd"):
            try:
                target = os.readlink(f"/proc/{self.compositor.pid}/fd/{fd}")
            except OSError:
                continue
            if not target.startswith("/dev/shm/wlroots-") and target != "/dev/urandom":
                fds.append(fd)
        return sorted(fds, key=int)

    # -- looking at the screen ----------------------------------------

    def capture(self, png, tool=None, timeout=10):
        """A capture of the output into @png: with @tool (a command line
        that takes the file's name last), else client-demo capture; once
        two captures 0.3 s apart are the same (a window the compositor
        has just been given may be laid out a transaction later).
        Returns the image."""
        end = time.monotonic() + timeout
        previous = None
        while True:
            self.screenshots += 1
            shot = self.path(f"capture-{self.screenshots}.png")
            if tool is None:
                self.client("capture", shot, expect=0)
            else:
                self.run([*tool, shot], expect=0)
            image = read_png(shot)
            if image == previous:
                shutil.copy(shot, png)
                return image
            check(time.monotonic() < end, f"the screen did not settle within {timeout} s")
            previous = image
            time.sleep(0.3)

    def screenshot(self, timeout=10):
        """What tests/hostile's held_screenshot() reads: screen.png."""
        self.capture(self.path("screen.png"), timeout=timeout)


class WlrootsBench(hostile.Bench):
    """tests/hostile's Bench on a wlroots compositor. Subclasses name
    SESSION (a WlrootsSession subclass), PROGRAM, PACKAGE and whether it
    REFUSES_ROOT."""

    SESSION = WlrootsSession
    PROGRAM = None
    PACKAGE = None
    REFUSES_ROOT = False
    FAULT_LOGGED = FAULT_LOGGED
    # An odd stride that libwayland's wl_shm (wlroots 0.15) accepts: no
    # texture, no frame callback (tests/hostile's Bench says so).
    ODD_STRIDE_SHOWN = False
    # A capture draws the output again (sway), rather than copying the
    # frame last drawn when nothing changed since (labwc).
    CAPTURE_REPAINTS = True
    # A new window is drawn at its commit, before its frame callback.
    DRAWS_ON_COMMIT = True

    def __init__(self, args):
        super().__init__(args)
        self.program = None
        self.version = None
        self.preload = None
        self.user = None
        if not hasattr(args, "wlr_preload"):
            args.wlr_preload = ""

    @property
    def LAST_ROW_NEEDS_WHOLE_STRIDE(self):  # noqa: N802 (hostile.Bench's name)
        return self.preload is not None and self.preload.contract == "libwayland"

    def prerequisites(self):
        """Check them once, at the first compositor: Skip with the reason
        for a missing one."""
        if self.program is not None:
            return
        path = shutil.which(self.args.compositor)
        if path is None:
            raise Skip(f"{self.args.compositor} not installed (Debian package {self.PACKAGE})")
        self.version = subprocess.run([path, "--version"], stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True).stdout.strip()
        self.preload = choose_preload(self.args, path)
        if self.REFUSES_ROOT:
            self.user = unprivileged_user(self.args.compositor)
        self.program = path
        self.args.compositor = path
        log(f"{self.version}, {wlroots_library(path)[0]}; preload "
            f"{os.path.basename(self.preload.path)} (ASan runtime: "
            f"{asan_runtime(self.preload.path)}); without it: "
            f"{'libwayland' if self.preload.builtin is True else self.preload.builtin}'s wl_shm")

    def series(self):
        """"0.18", "0.20" (wlroots' own wl_shm), or None (wlroots 0.15)."""
        self.prerequisites()
        return wlroots_series(wlroots_library(self.program)[0])

    def wlr(self, *extra, flags=(), open_files=None):
        """Start one compositor: with the preload, or without it when
        @extra has --builtin-shm; --policy NAME sets the preload's fault
        policy. @flags go to the compositor's command line."""
        self.prerequisites()
        extra = list(extra)
        fault_policy = None
        if "--policy" in extra:
            i = extra.index("--policy")
            fault_policy = extra[i + 1]
            del extra[i:i + 2]
        check(set(extra) <= {"--builtin-shm"}, f"{self.PROGRAM} has no {extra}")
        s = self.SESSION(self.args, self.user, self.preload)
        self.sessions.append(s)
        s.start("--builtin-shm" not in extra, flags=flags, fault_policy=fault_policy,
                open_files=open_files)
        return s

    def compositor(self, *extra, screenshot=False, open_files=None):
        """hostile.Bench's: screenshots need nothing at start here."""
        return self.wlr(*extra, open_files=open_files)


def wait_for_text(s, pattern, timeout=5):
    """The compositor's stderr has a line matching @pattern (regex)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        m = re.search(pattern, s.compositor_text(), re.M)
        if m:
            return m
        time.sleep(0.05)
    raise Failure(f"{s.NAME}'s stderr lacks /{pattern}/ after {timeout} s")

"""The tests run-sway.py and run-labwc.py run on any wlroots compositor,
through a WlrootsBench (wlroots_compositor.py): tests/hostile's attacks,
with the preload and without it, each difference from the wl_shm the
compositor serves without it asserted; and real clients (weston-simple-shm,
foot, grim).

Without the preload a compositor serves libwayland's wl_shm (wlroots
0.15: sway 1.7, session.builtin True) or wlroots' own wlr_shm (0.17 and
later: sway 1.10 and 1.12, labwc 0.8 and 0.20, builtin "wlr_shm"); the
tests assert each. The docstrings say what each test does and why.
"""
import re
import signal
import time
from collections import Counter

from wlroots_compositor import FAULT_LOGGED, hostile, wait_for_text
from run import assert_good_keeps_going, check, log, need, wait_for_frames

attack, finish, healthy = hostile.attack, hostile.finish, hostile.healthy
CONNECTED, PROTOCOL_ERROR, CONNECTION_LOST = (
    hostile.CONNECTED, hostile.PROTOCOL_ERROR, hostile.CONNECTION_LOST)
INVALID_FD = hostile.INVALID_FD
TRUNCATED, TRUNCATED_OR_REGROWN, SILENT_ZEROS = (
    hostile.TRUNCATED, hostile.TRUNCATED_OR_REGROWN, hostile.SILENT_ZEROS)
# libwayland's message for a fault its SIGBUS handler caught.
LIBWAYLAND_FAULT = r"^error accessing SHM buffer"


def which(s):
    """"libshmguard", "libwayland" or "wlr_shm": who serves @s's wl_shm."""
    return "libshmguard" if not s.builtin else ("libwayland" if s.builtin is True
                                                 else s.builtin)


def both(bench, *flags):
    """The compositor with the preload, then without it."""
    yield bench.wlr(flags=flags)
    yield bench.wlr("--builtin-shm", flags=flags)


# -- real clients -------------------------------------------------------

def test_weston_simple_shm(bench):
    """weston-simple-shm shows 60 frames or more in 3 s, with the preload
    and without, and its buffers are released. (sway 1.7 runs with -D
    noatomic: its transactions keep a window's previous buffer until the
    client answers a configure, wlroots 0.15's pixman renderer reads
    client buffers in place, so both of weston-simple-shm's buffers are
    busy at its second frame and it aborts, "Both buffers busy at
    redraw(). Server bug?", with either wl_shm.)"""
    program = need("weston-simple-shm", "weston")
    for s in both(bench, *bench.simple_shm_flags()):
        proc = s.spawn([program], f"weston-simple-shm-{which(s)}",
                       env=dict(s.client_env, WAYLAND_DEBUG="client"))
        time.sleep(3)
        check(proc.poll() is None, f"[{which(s)}] weston-simple-shm exited early "
              f"({proc.returncode}): {open(proc.log_path).read()[-500:]}")
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
        trace = open(proc.log_path).read()
        frames = len(re.findall(r"wl_callback[@#]\d+\.done\(", trace))
        attaches = len(re.findall(r"wl_surface[@#]\d+\.attach\(wl_buffer[@#]", trace))
        releases = len(re.findall(r"wl_buffer[@#]\d+\.release\(", trace))
        log(f"[{which(s)}] weston-simple-shm: {attaches} buffers attached, {releases} "
            f"released, {frames} callbacks in 3 s")
        check("protocol error" not in trace.lower(),
              f"[{which(s)}] weston-simple-shm got a protocol error")
        check(frames >= 60 and attaches >= 60 and releases >= 60,
              f"[{which(s)}] weston-simple-shm showed fewer than 60 frames")
        finish(s)


def is_light(rgb):
    return sum(rgb) > 3 * 150


def pixels_of(image):
    _, _, rgb = image
    return [bytes(rgb[i:i + 3]) for i in range(0, len(rgb), 3)]


# foot's lines: text, with the cursor hidden (it would be light pixels too).
FOOT_SCRIPT = ("printf '\\033[?25l'; for i in 1 2 3 4 5 6; do echo shmguard-shmguard-shmguard;"
               " done; sleep 60")


def foot_on_screen(s, empty):
    """(terminal pixels, light pixels in them) on the screen, given the
    screen before foot came (@empty): the terminal is the bounding box of
    the commonest colour among the pixels that changed (the window's
    background; a title bar or border has colours of its own)."""
    image = s.capture(s.path("foot.png"))
    width = image[0]
    now, before = pixels_of(image), pixels_of(empty)
    changed = [i for i in range(len(now)) if now[i] != before[i]]
    if not changed:
        return 0, 0
    background = Counter(now[i] for i in changed).most_common(1)[0][0]
    inside = [i for i in changed if now[i] == background]
    x0, x1 = min(i % width for i in inside), max(i % width for i in inside)
    y0, y1 = inside[0] // width, inside[-1] // width
    light = sum(1 for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)
                if is_light(now[y * width + x]))
    return (x1 - x0 + 1) * (y1 - y0 + 1), light


def test_foot(bench):
    """foot (a wl_shm client that also needs wl_seat and
    wl_data_device_manager) shows its window and six lines of text, with
    the preload and without."""
    program = need("foot", "foot")
    for s in both(bench):
        empty = s.capture(s.path("empty.png"))
        proc = s.spawn([program, "--", "/bin/sh", "-c", FOOT_SCRIPT], f"foot-{which(s)}",
                       env=dict(s.client_env, SHELL="/bin/sh"))
        # The window comes first, the text a frame or more later (on a
        # loaded machine, seconds): wait for both.
        end = time.monotonic() + 15
        while True:
            check(proc.poll() is None, f"[{which(s)}] foot exited ({proc.returncode}): "
                  f"{open(proc.log_path).read()[-1000:]}")
            area, light = foot_on_screen(s, empty)
            if (area > 20000 and light > 500) or time.monotonic() > end:
                break
            time.sleep(0.5)
        log(f"[{which(s)}] foot: a terminal of {area} pixels, {light} light pixels of text")
        check(area > 20000, f"[{which(s)}] foot's window is not on the screen")
        check(light > 500, f"[{which(s)}] foot's window shows no text")
        finish(s)


# client-demo good --still: a vertical gradient, and a white square
# (0xf0f0f0) in the bottom right corner whose side is a quarter of the
# window's shorter side.
SQUARE_RGB = b"\xf0\xf0\xf0"


def white_runs(pixels, width, height):
    """{(left, length): [rows]} of the horizontal runs of SQUARE_RGB at
    least 16 pixels long."""
    runs = {}
    for y in range(height):
        row = pixels[y * width:(y + 1) * width]
        x = 0
        while x < width:
            if row[x] != SQUARE_RGB:
                x += 1
                continue
            start = x
            while x < width and row[x] == SQUARE_RGB:
                x += 1
            if x - start >= 16:
                runs.setdefault((start, x - start), []).append(y)
    return runs


def still_pattern(image):
    """Where client-demo good --still's picture is: (left, top, side) of
    its white square (a run of white rows as many as it is wide: the
    compositor's decorations may have white of their own), after checking
    that a gradient runs above it."""
    width, height, _ = image
    pixels = pixels_of(image)
    squares = [(left, rows[0], side) for (left, side), rows in
               white_runs(pixels, width, height).items()
               if len(rows) == side and rows[-1] - rows[0] == side - 1]
    check(len(squares) == 1, f"not one white square of the client's on the screen: "
          f"{squares}")
    x0, y0, side = squares[0]
    column = [pixels[y * width + x0 + side // 2] for y in range(max(0, y0 - 2 * side), y0)]
    shades = len(set(column))
    log(f"client-demo's square: {side}x{side} at ({x0}, {y0}); {shades} shades of "
        f"the gradient in the {len(column)} pixels above it")
    check(shades >= 8 and SQUARE_RGB not in column,
          "no gradient above the client's square")
    return x0, y0, side


def test_capture(bench):
    """grim (wlr-screencopy, or ext-image-copy-capture where grim and the
    compositor have it) captures the screen with client-demo good --still
    on it, into grim's own wl_shm buffer: with the preload, the
    compositor's write into that buffer is the library's write path. The
    PNG has the output's size and client-demo's picture, and equals, pixel
    for pixel, the PNG the same compositor makes of the same scene without
    the preload."""
    grim = need("grim", "grim")
    images = {}
    for s in both(bench):
        good = s.spawn_good("--still")
        wait_for_frames(good, 10)
        image = s.capture(s.path("grim.png"), tool=[grim])
        check(image[:2] == bench.OUTPUT_SIZE,
              f"[{which(s)}] grim's PNG is {image[:2]}, not {bench.OUTPUT_SIZE}")
        images[which(s)] = (image, still_pattern(image))
        finish(s)
    (ours, where), (theirs, where_theirs) = images.values()
    differing = sum(1 for a, b in zip(pixels_of(ours), pixels_of(theirs)) if a != b)
    log(f"grim with the preload vs without: {differing} of {ours[0] * ours[1]} "
        f"pixels differ")
    check(where == where_theirs and differing == 0,
          f"the captures differ in {differing} pixels")


# -- truncation ---------------------------------------------------------

def test_truncate_after_show(bench):
    """A client truncates its file after its buffer was shown and commits
    it again, while client-demo good animates. With the preload: wl_buffer
    invalid_fd ("client truncated its pool"), the preload's fault line
    naming the client, the good client goes on and a fresh client is
    shown. Without it: libwayland's guard (wlroots 0.15) posts invalid_fd
    too ("error accessing SHM buffer"); wlr_shm (0.17 and later) maps
    zeros over the fault and shows them: the client is never told."""
    for s in both(bench):
        good = s.spawn_good()
        wait_for_frames(good, 30)
        if not s.builtin:
            attack(s, "truncate-after-show", status=PROTOCOL_ERROR,
                   error=("wl_buffer", INVALID_FD), message=TRUNCATED)
            wait_for_text(s, FAULT_LOGGED + r" \(file has 0 bytes\): disconnected")
        elif s.builtin is True:
            attack(s, "truncate-after-show", status=PROTOCOL_ERROR,
                   error=("wl_buffer", INVALID_FD), message=LIBWAYLAND_FAULT)
        else:
            attack(s, "truncate-after-show", status=CONNECTED, message=SILENT_ZEROS)
        assert_good_keeps_going(good)
        finish(s)


def test_truncate_before_commit(bench):
    """Pool and buffer made over a whole file, the file truncated before
    the first commit: with the preload wl_buffer invalid_fd; libwayland's
    the same (its message); wlr_shm shows zeros and tells no one."""
    hostile.test_truncate_before_commit(bench)
    b = bench.wlr("--builtin-shm")
    if b.builtin is True:
        attack(b, "truncate-before-commit", status=PROTOCOL_ERROR,
               error=("wl_buffer", INVALID_FD), message=LIBWAYLAND_FAULT)
    else:
        attack(b, "truncate-before-commit", status=CONNECTED, message=SILENT_ZEROS)
    finish(b)


def test_truncate_race(bench):
    """Commits every 2 ms while another thread truncates and regrows the
    file every 0.3 ms: with the preload wl_buffer invalid_fd; libwayland's
    the same; wlr_shm: the client stays connected, never told."""
    hostile.test_truncate_race(bench)
    b = bench.wlr("--builtin-shm")
    if b.builtin is True:
        attack(b, "truncate-race", status=PROTOCOL_ERROR, error=("wl_buffer", INVALID_FD),
               message=LIBWAYLAND_FAULT)
    else:
        attack(b, "truncate-race", status=CONNECTED, message=r"^raced \d+ commits"
               r"(.|\n)*^still connected")
    finish(b)


def test_truncate_after_destroy(bench):
    """Show a buffer, destroy the wl_buffer and the pool (the surface
    keeps showing it), truncate the file, ask for a screen capture, which
    renders the surface. With the preload the render reads inside an
    access window: zeros, the compositor survives, and the fault policy
    runs at the next dispatch: the attacker (which stays a second) gets
    invalid_fd on its wl_shm, the wl_buffer and pool being gone.
    Without it: wlroots 0.15 took wl_shm_buffer_ref_pool() at the destroy
    and reads the saved data pointer with no begin_access, so the read is
    unguarded and the compositor dies of SIGBUS, every client with it;
    wlr_shm (0.17 and later) maps zeros over the fault: the capture is
    made and the client never told.

    labwc 0.8 (bench.CAPTURE_REPAINTS False) answers this capture with
    the frame it last drew, so nothing reads the truncated file, with the
    preload or without: the capture is made, the client stays connected,
    and the preload logs no fault. (labwc 0.20 draws it: as sway.)"""
    if not bench.CAPTURE_REPAINTS:
        for s in both(bench):
            attack(s, "truncate-after-destroy", status=CONNECTED,
                   message=r"^capture ready(.|\n)*^still connected", options=("--settle", "1000"))
            check(not re.search(FAULT_LOGGED, s.compositor_text(), re.M),
                  f"[{which(s)}] a fault was logged")
            finish(s)
        return
    s = bench.wlr()
    attack(s, "truncate-after-destroy", status=PROTOCOL_ERROR, error=("wl_shm", INVALID_FD),
           message=TRUNCATED, options=("--settle", "1000"))
    wait_for_text(s, FAULT_LOGGED + r" \(file has 0 bytes\): disconnected")
    finish(s)

    b = bench.wlr("--builtin-shm")
    if b.builtin is True:
        attack(b, "truncate-after-destroy", status=CONNECTION_LOST,
               message=r"^connection lost", options=("--settle", "1000"), dies=True)
        hostile.expect_sigbus_death(b, "the capture read the truncated, destroyed buffer")
        return
    attack(b, "truncate-after-destroy", status=CONNECTED,
           message=r"^capture ready(.|\n)*^still connected", options=("--settle", "1000"))
    finish(b)


# -- a pool grown under a shown buffer ------------------------------------

# What resize-redraw paints into its buffer after the resize (XRGB
# 0xff5a1cc4).
REDRAW_RGB = b"\x5a\x1c\xc4"


def test_resize_redraw(bench):
    """A well-behaved client grows its file and pool to 64 MiB, paints new
    pixels into the buffer it showed and commits damage without an
    attach; then a capture. wlroots uploads a wl_shm buffer again for a
    commit of damage alone; the pixman renderer reads it at each render.
    With the preload the buffer keeps the mapping it was made in, and the
    capture shows the new pixels; the same without it, libwayland's or
    wlr_shm (which keep the old mapping while a buffer holds it)."""
    for s in both(bench):
        proc = s.spawn([s.args.hostile, "--settle", "20000", "resize-redraw"],
                       f"resize-redraw-{which(s)}", env=hostile.hostile_env(s))
        end = time.monotonic() + 15
        while "redrawn: frame callback" not in open(proc.log_path).read():
            check(s.compositor_alive(), f"[{which(s)}] the compositor died "
                  f"({s.compositor.returncode})")
            check(proc.poll() is None, f"[{which(s)}] resize-redraw ended "
                  f"({proc.returncode}): {open(proc.log_path).read()}")
            check(time.monotonic() < end, f"[{which(s)}] resize-redraw was not redrawn")
            time.sleep(0.05)
        image = s.capture(s.path("redrawn.png"))
        pixels = pixels_of(image)
        redrawn = sum(1 for p in pixels if p == REDRAW_RGB)
        old = hostile.attack_pixels(image)[0]
        log(f"[{which(s)}] {redrawn} pixels of the colour painted after the resize, "
            f"{old} of the old one")
        check(redrawn == 64 * 64 and old == 0,
              f"[{which(s)}] the capture does not show the buffer's new pixels")
        proc.terminate()
        proc.wait(10)
        finish(s)


# -- screen capture into hostile buffers ---------------------------------

def test_capture_truncated(bench):
    """A capture into a buffer whose file the client truncated after the
    pool and buffer were made. With the preload the compositor's write
    faults inside the write window: the frame fails, and the fault policy
    disconnects the client: wl_buffer invalid_fd, the preload's fault line.
    Without it: wlr_shm maps zeros over the fault, the write goes there,
    and the capture is reported ready: the client is never told its
    buffer holds nothing. libwayland (wlroots 0.15): its guard catches the
    write and posts wl_buffer invalid_fd."""
    s = bench.wlr()
    attack(s, "capture-truncated", status=PROTOCOL_ERROR, error=("wl_buffer", INVALID_FD),
           message=TRUNCATED)
    wait_for_text(s, FAULT_LOGGED)
    finish(s)

    b = bench.wlr("--builtin-shm")
    if b.builtin is True:
        attack(b, "capture-truncated", status=PROTOCOL_ERROR,
               error=("wl_buffer", INVALID_FD), message=LIBWAYLAND_FAULT)
    else:
        attack(b, "capture-truncated", status=CONNECTED,
               message=r"^capture ready(.|\n)*^still connected")
    finish(b)


def test_capture_read_only(bench):
    """A capture into a buffer over a read-only fd, and over a write-sealed
    memfd. With the wlroots preload the pools are accepted (for display);
    when the capture asks to write into one, the client gets wl_shm
    invalid_fd on that wl_buffer, saying its pool cannot be written, and
    nothing reaches its file. (wlroots' screencopy asks for write access
    when the copy is requested; refused, it would post invalid_buffer and
    keep the buffer locked, with the pool's fd and mapping, for the
    compositor's life: the adapter gives the write a scratch instead, and
    the fd check at the end of the test holds it to that.) compositor-demo's
    own screencopy answers the same with frame failed. libshmguard-preload.so,
    on sway 1.7, keeps libwayland's contract, a data pointer wlroots 0.15
    may write through: such a pool is mapped private, copy-on-write, and
    the capture is "ready" with the client's file unchanged, as
    docs/preload.md says. Without a preload both pools are refused at
    create_pool (wl_shm invalid_fd): libwayland and wlr_shm map every pool
    writable."""
    s = bench.wlr()
    for kind in ("read-only", "write-sealed"):
        if bench.preload.contract == "libwayland":
            attack(s, "capture", kind, status=CONNECTED, message=r"^capture ready")
        else:
            attack(s, "capture", kind, status=PROTOCOL_ERROR, error=("wl_buffer", INVALID_FD),
                   message=r"asked to write into this buffer .* cannot be written")
    attack(s, "capture", status=CONNECTED, message=r"^capture ready")
    finish(s)

    b = bench.wlr("--builtin-shm")
    for kind in ("read-only", "write-sealed"):
        attack(b, "capture", kind, status=PROTOCOL_ERROR, error=("wl_shm", INVALID_FD),
               message=hostile.MMAP_FAILED[b.builtin == "wlr_shm"])
    finish(b)


def capture_counts(out):
    m = re.search(r"^captures: (\d+) ready, (\d+) failed, of (\d+) asked", out, re.M)
    check(m is not None, "capture-truncate-loop printed no count")
    return int(m[1]), int(m[2]), int(m[3])


def test_capture_truncate_loop(bench):
    """100 captures while a thread truncates and regrows the target file
    every 0.3 ms. With the preload (fault policy disconnect, the default):
    the first write that meets the short file ends the client, wl_buffer
    invalid_fd. Under SHMGUARD_FAULT_POLICY=zeros the client stays: every
    capture ends, ready or failed. Without the preload, wlr_shm: every
    capture is ready, whatever the file was meanwhile; libwayland: its
    guard catches a write and posts invalid_fd."""
    s = bench.wlr()
    attack(s, "capture-truncate-loop", 100, status=PROTOCOL_ERROR,
           error=("wl_buffer", INVALID_FD), message=TRUNCATED_OR_REGROWN)
    finish(s)

    z = bench.wlr("--policy", "zeros")
    ready, failed, asked = capture_counts(
        attack(z, "capture-truncate-loop", 100, status=CONNECTED, timeout=60))
    log(f"[libshmguard, zeros] {ready} ready, {failed} failed")
    check(ready + failed == asked, "under the zeros policy, not every capture ended")
    finish(z)

    b = bench.wlr("--builtin-shm")
    if b.builtin is True:
        attack(b, "capture-truncate-loop", 100, status=PROTOCOL_ERROR,
               error=("wl_buffer", INVALID_FD), message=LIBWAYLAND_FAULT)
    else:
        ready, failed, asked = capture_counts(
            attack(b, "capture-truncate-loop", 100, status=CONNECTED, timeout=60))
        log(f"[wlr_shm] {ready} ready, {failed} failed")
        check(ready == asked, "[wlr_shm] not every capture was ready")
    finish(b)


# -- files whose reads wait on a user-space process ------------------------

def test_fuse_data_stall(bench):
    """tests/hostile's fuse-data-stall: a 4 MiB file on a FUSE mount whose
    daemon never answers a read. With the preload: wl_shm invalid_fd
    naming fuse, the daemon never asked, no thread waiting, a fresh client
    shown at once. Without it the compositor reads the file when it draws
    the window and freezes until the daemon ends. Where a new window is
    not drawn at its commit (bench.DRAWS_ON_COMMIT False: labwc 0.20 sends
    its frame callback and draws it at the next frame something else asks
    for), the attacker is "shown" undrawn and stays, and a capture has the
    window drawn: frozen all the same."""
    if bench.DRAWS_ON_COMMIT:
        hostile.test_fuse_data_stall(bench)
        return
    hostile.fuse_usable(bench.args.stall_fs)
    fs = hostile.StallFs(bench.args.stall_fs, "data")
    try:
        s = bench.wlr()
        hostile.refused_untouched(s, fs, fs.file, message=hostile.FUSE_NAMED)
        finish(s)
    finally:
        fs.close()

    fs = hostile.StallFs(bench.args.stall_fs, "data")
    try:
        b = bench.wlr("--builtin-shm")
        proc = b.spawn([b.args.hostile, "--timeout", str(hostile.FILE_WAIT_MS), "--settle",
                        "20000", "file-pool", fs.file], "file-pool",
                       env=hostile.hostile_env(b))
        end = time.monotonic() + 10
        while "shown: frame callback" not in open(proc.log_path).read():
            check(proc.poll() is None, f"[wlr_shm] the attacker ended: "
                  f"{open(proc.log_path).read()}")
            check(time.monotonic() < end, "[wlr_shm] the attacker was not shown")
            time.sleep(0.05)
        check(not hostile.waiting_threads(b.compositor.pid),
              "[wlr_shm] the compositor waits on FUSE before it draws the window")
        b.spawn([b.args.client, "capture", b.path("frozen.png")], "capture")
        hostile.expect_frozen(b, "the capture's draw of the FUSE file")
        fs.stop()
        end = time.monotonic() + 5
        while hostile.waiting_threads(b.compositor.pid):
            check(time.monotonic() < end, "the compositor still waits after the daemon ended")
            time.sleep(0.05)
        finish(b)
    finally:
        fs.close()


# -- tests/hostile's own, unchanged ----------------------------------------

# They compare with --builtin-shm themselves, libwayland's and wlr_shm's.
HOSTILE_TESTS = (
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
    "fuse-metadata-stall",
    "fuse-overlay",
    "fuse-flush-stall",
    "hugetlb-truncate",
)

TESTS = {name: hostile.TESTS[name] for name in HOSTILE_TESTS}
TESTS.update({
    "weston-simple-shm": test_weston_simple_shm,
    "foot": test_foot,
    "capture": test_capture,
    "truncate-after-show": test_truncate_after_show,
    "truncate-before-commit": test_truncate_before_commit,
    "truncate-race": test_truncate_race,
    "truncate-after-destroy": test_truncate_after_destroy,
    "resize-redraw": test_resize_redraw,
    "capture-truncated": test_capture_truncated,
    "capture-read-only": test_capture_read_only,
    "capture-truncate-loop": test_capture_truncate_loop,
    "fuse-data-stall": test_fuse_data_stall,
})


def named(prefix, names=None):
    """TESTS (or those of @names) as prefix-NAME."""
    return {prefix + name: TESTS[name] for name in (names or TESTS)}

#!/usr/bin/env python3
"""Run wlcs (Mir's Wayland conformance suite) against compositor-demo.

    run-wlcs.py --wlcs PATH --module PATH [--verbose]
    run-wlcs.py --missing REASON

wlcs loads the integration module (integration.c), which runs compositor-demo
in wlcs's process: first with libshmguard's wl_shm (RUNS), then for the
BadBuffer tests, where they differ, with the one its wlroots would serve
(compositor-demo --builtin-shm: libwayland's with wlroots 0.15, wlroots' own
wlr_shm since 0.17; BUILTIN_RUNS). Every test has an expected result; the test
passes when each result is the expected one, so a test that starts failing,
and a known failure that starts passing, both fail it (README.md then needs
updating). Exit status: 0, 1, or 77 (skipped) when wlcs is missing.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
SUPPRESSIONS = [os.path.join(HERE, "lsan-wlcs.supp"),
                os.path.join(HERE, "..", "integration", "lsan-wlroots.supp")]

# wlcs's DISABLED_ SecondBadBufferTest is the same truncated-buffer test in
# a second compositor instance of the same process (for a SIGBUS handler
# that only served the first): run on purpose.
SECOND = "SecondBadBufferTest.DISABLED_test_truncated_shm_file"

# The truncated-file test: wlcs queues create_pool, create_buffer and
# wl_shm_pool.destroy, then truncates the file to 12 bytes before anything
# is sent. libshmguard sees a 12-byte file for a 160000-byte pool at
# create_pool and refuses it there (wl_shm invalid_fd); the test expects
# libwayland's later error, on the wl_buffer when the render faults.
ON_WL_SHM = ("FAIL", r"err\.interface\(\)")

# name: (expected result, regex on the failure message when it is FAIL)
RUNS = {
    "BadBufferTest.client_lies_about_buffer_size": ("PASS", None),
    "BadBufferTest.test_truncated_shm_file": ON_WL_SHM,
    SECOND: ON_WL_SHM,
    "SelfTest.when_creating_second_client_nothing_bad_happens": ("PASS", None),
    "SelfTest.given_second_client_when_roundtripping_first_client_nothing_bad_happens":
        ("PASS", None),
    "SelfTest.given_second_client_when_roundtripping_both_clients_nothing_bad_happens":
        ("PASS", None),
    "SelfTest.when_a_client_creates_a_surface_nothing_bad_happens": ("PASS", None),
    "SelfTest.given_second_client_when_first_creates_a_surface_nothing_bad_happens":
        ("PASS", None),
    "SelfTest.given_second_client_when_both_create_a_surface_nothing_bad_happens":
        ("PASS", None),
    # wlcs's own expected-failure machinery, tested by wlcs itself.
    "SelfTest.xfail_failure_is_noted": ("XFAIL", None),
    "SelfTest.expected_missing_extension_is_xfail": ("XFAIL", None),
    "SelfTest.acquiring_unsupported_extension_is_xfail": ("XFAIL", None),
    "SelfTest.acquiring_unsupported_extension_version_is_xfail": ("XFAIL", None),
    "SelfTest.does_not_acquire_version_newer_than_wlcs_supports": ("PASS", None),
    "SelfTest.dispatch_until_times_out_on_failure": ("PASS", None),
    "SelfTest.dispatch_until_times_out_at_the_right_time": ("PASS", None),
    "FrameSubmission.post_one_frame_at_a_time": ("PASS", None),
    "ClientSurfaceEventsTest.surface_enters_output": ("PASS", None),
    "WlOutputTest.wl_output_properties_set": ("PASS", None),
    "WlOutputTest.wl_output_release": ("PASS", None),
    "XdgOutputV1Test.xdg_output_properties_set": ("PASS", None),
    "XdgSurfaceStableTest.supports_xdg_shell_stable_protocol": ("PASS", None),
    "XdgToplevelStableTest.parent_can_be_set": ("PASS", None),
    "XdgToplevelStableTest.null_parent_can_be_set": ("PASS", None),
    "XdgToplevelStableConfigurationTest.defaults": ("PASS", None),
    "WlShellSubsurfaces/SubsurfaceTest.subsurface_has_correct_parent/0": ("PASS", None),
}

# libwayland's wl_shm passes the truncated-file tests (it maps the short
# file, and its SIGBUS handler turns the render's fault into invalid_fd
# on the wl_buffer, in the second instance too), and fails the stride
# test: it compares the stride, 200 bytes, with the width, 200 pixels.
# wlroots' wlr_shm is the other way round: its SIGBUS handler maps zeros
# and tells no one, so no error comes for the truncated file, and it
# checks the stride against the format.
NO_ERROR = ("FAIL", r"Expected protocol error not raised")
BUILTIN_RUNS = {
    "libwayland": {
        "BadBufferTest.test_truncated_shm_file": ("PASS", None),
        SECOND: ("PASS", None),
        "BadBufferTest.client_lies_about_buffer_size": NO_ERROR,
    },
    "wlr_shm": {
        "BadBufferTest.test_truncated_shm_file": NO_ERROR,
        SECOND: NO_ERROR,
        "BadBufferTest.client_lies_about_buffer_size": ("PASS", None),
    },
}

# compositor-demo's log line that says which wl_shm --builtin-shm serves.
BUILTIN_LINE = re.compile(r"wl_shm: (libwayland's|wlroots' \(wlr_shm, wlroots ([\d.]+)\)) "
                          r"\(--builtin-shm\)")


def run_wlcs(args, runtime, expected, extra, label):
    """Run the tests named in @expected; returns the list of mismatches.
    @expected maps each test to its expected result, or, for
    --builtin-shm, each wl_shm it may serve to such a map."""
    by_builtin = "--builtin-shm" in extra
    names = list(next(iter(expected.values())) if by_builtin else expected)
    report = os.path.join(runtime, f"{label}.json")
    cmd = [args.wlcs, args.module, "--gtest_filter=" + ":".join(names),
           "--gtest_also_run_disabled_tests", f"--gtest_output=json:{report}", *extra]
    print(f"[{label}] $ " + " ".join(cmd), flush=True)
    env = dict(os.environ, XDG_RUNTIME_DIR=runtime)
    for name in ("WAYLAND_DISPLAY", "WAYLAND_SOCKET", "DISPLAY"):
        env.pop(name, None)
    # Under AddressSanitizer: full stacks, so that suppressions see the
    # frames they name; one file, as LeakSanitizer reads only one.
    suppressions = os.path.join(runtime, "lsan.supp")
    with open(suppressions, "w") as out:
        for path in SUPPRESSIONS:
            out.write(open(path).read())
    env["LSAN_OPTIONS"] = ":".join(filter(None, [
        env.get("LSAN_OPTIONS", ""), f"suppressions={suppressions}", "print_suppressions=0"]))
    env["ASAN_OPTIONS"] = ":".join(filter(None, [
        env.get("ASAN_OPTIONS", ""), "fast_unwind_on_malloc=0"]))
    try:
        done = subprocess.run(cmd, env=env, timeout=100, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    except subprocess.TimeoutExpired as e:
        sys.stdout.write(e.output or "")
        return [f"[{label}] wlcs did not finish within 100 s"]
    if args.verbose:
        sys.stdout.write(done.stdout)
    results = {}
    if os.path.exists(report):
        for suite in json.load(open(report))["testsuites"]:
            for test in suite["testsuite"]:
                failures = " ".join(f.get("failure", "") for f in test.get("failures", []))
                # wlcs marks its expected failures with this property
                # (its console says SKIP); gtest's report says failed.
                result = ("XFAIL" if "wlcs-skip-test" in test else
                          "FAIL" if failures else
                          "SKIP" if test.get("result") == "SKIPPED" else "PASS")
                results[f"{suite['name']}.{test['name']}"] = (result, failures)
    else:
        sys.stdout.write(done.stdout)
        return [f"[{label}] wlcs wrote no report (exit {done.returncode})"]

    mismatches = []
    if by_builtin:
        served = BUILTIN_LINE.search(done.stdout)
        if served is None:
            sys.stdout.write(done.stdout[-6000:])
            return [f"[{label}] compositor-demo did not say which wl_shm it serves"]
        kind = "libwayland" if served[1] == "libwayland's" else "wlr_shm"
        print(f"[{label}] --builtin-shm serves {served[1]} wl_shm")
        expected = expected[kind]
    # gtest exits 1 when a test failed (some are expected to); anything
    # else, or a sanitizer's report, is a failure of the run itself.
    sanitizer = re.search(r"^(==\d+==ERROR: \w+Sanitizer.*|.*runtime error: .*)$",
                          done.stdout, re.M)
    if done.returncode not in (0, 1) or sanitizer:
        sys.stdout.write(done.stdout[-6000:])
        mismatches.append(f"[{label}] wlcs exited with {done.returncode}"
                          + (f": {sanitizer[0]}" if sanitizer else ""))
    print(f"[{label}] results:")
    for name, (want, pattern) in expected.items():
        got, failures = results.get(name, ("NOT RUN", ""))
        ok = got == want and (pattern is None or re.search(pattern, failures))
        note = "" if ok else f"   <-- expected {want}"
        print(f"  {got:7} {name}{note}")
        if not ok:
            mismatches.append(f"[{label}] {name}: {got}, expected {want}"
                              + (f" ({failures.strip()[:300]})" if failures else ""))
    for name in sorted(set(results) - set(expected)):
        mismatches.append(f"[{label}] {name} ran but is not listed")
    return mismatches


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wlcs", help="the wlcs test runner")
    parser.add_argument("--module", help="the integration module")
    parser.add_argument("--missing", help="skip, giving this reason")
    parser.add_argument("--verbose", action="store_true", help="print wlcs's output")
    args = parser.parse_args()
    if args.missing:
        print(f"wlcs: skipped: {args.missing}")
        return SKIP
    if not os.access(args.wlcs, os.X_OK):
        print(f"wlcs: skipped: {args.wlcs} is missing (Debian package wlcs)")
        return SKIP

    runtime = tempfile.mkdtemp(prefix="shmguard-wlcs-")
    os.chmod(runtime, 0o700)
    try:
        mismatches = run_wlcs(args, runtime, RUNS, [], "libshmguard")
        mismatches += run_wlcs(args, runtime, BUILTIN_RUNS, ["--builtin-shm"], "builtin")
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    for line in mismatches:
        print(f"MISMATCH {line}")
    print(f"wlcs: {'every result as expected' if not mismatches else 'FAILED'}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())

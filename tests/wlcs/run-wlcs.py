#!/usr/bin/env python3
"""Run wlcs (Mir's Wayland conformance suite) against compositor-demo.

    run-wlcs.py --wlcs PATH --module PATH [--filter PATTERNS] [-- WLCS ARGS]
    run-wlcs.py --missing REASON

wlcs loads the integration module (tests/wlcs/integration.c), which runs
compositor-demo in wlcs's process. The tests run are TESTS below; README.md
gives their results and the reasons for the ones left out. Prints one line
per test and exits 0 when every test passed, 1 otherwise, 77 (skipped) when
wlcs is missing.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77

# What compositor-demo honestly supports: wl_shm (BadBuffer: the reason
# for this suite), surfaces and frame callbacks, outputs, xdg-shell without
# input, subsurfaces without input. The disabled SecondBadBufferTest checks
# that a second compositor in the same process still survives a truncated
# buffer, which is exactly what a process-wide SIGBUS handler must do.
TESTS = [
    "BadBufferTest.*",
    "SecondBadBufferTest.DISABLED_test_truncated_shm_file",
    "SelfTest.*",
    "FrameSubmission.*",
    "ClientSurfaceEventsTest.frame_timestamp_increases",
    "ClientSurfaceEventsTest.surface_enters_output",
    "WlOutputTest.*",
    "XdgOutputV1Test.*",
    "XdgSurfaceStableTest.*",
    "XdgToplevelStableTest.parent_can_be_set",
    "XdgToplevelStableTest.null_parent_can_be_set",
    "XdgToplevelStableConfigurationTest.defaults",
    "XdgShellStableSubsurfaces/SubsurfaceTest.subsurface_has_correct_parent/*",
    "XdgShellStableSubsurfaces/SubsurfaceMultilevelTest.*",
]
# wlcs's own DISABLED_ tests stay off, but for the one named above.
EXCLUDED = [
    "*DISABLED_window_*",
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wlcs", help="the wlcs test runner")
    parser.add_argument("--module", help="the integration module")
    parser.add_argument("--missing", help="skip, giving this reason")
    parser.add_argument("--filter", help="a gtest filter instead of TESTS")
    parser.add_argument("extra", nargs="*", help="more arguments for wlcs")
    args = parser.parse_args()
    if args.missing:
        print(f"wlcs: skipped: {args.missing}")
        return SKIP
    if not os.access(args.wlcs, os.X_OK):
        print(f"wlcs: skipped: {args.wlcs} is missing (Debian package wlcs)")
        return SKIP

    runtime = tempfile.mkdtemp(prefix="shmguard-wlcs-")
    os.chmod(runtime, 0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=runtime)
    for name in ("WAYLAND_DISPLAY", "WAYLAND_SOCKET", "DISPLAY"):
        env.pop(name, None)
    report = os.path.join(runtime, "wlcs.json")
    gtest_filter = args.filter or ":".join(TESTS) + "-" + ":".join(EXCLUDED)
    cmd = [args.wlcs, args.module, f"--gtest_filter={gtest_filter}",
           "--gtest_also_run_disabled_tests", f"--gtest_output=json:{report}",
           *args.extra]
    print("$ " + " ".join(cmd), flush=True)
    try:
        status = subprocess.run(cmd, env=env, timeout=110).returncode
        results = []
        if os.path.exists(report):
            for suite in json.load(open(report))["testsuites"]:
                for test in suite["testsuite"]:
                    failed = bool(test.get("failures"))
                    skipped = test.get("result") == "SKIPPED"
                    results.append((f"{suite['name']}.{test['name']}",
                                    "FAIL" if failed else "SKIP" if skipped else "PASS"))
    except subprocess.TimeoutExpired:
        print("wlcs: did not finish within 110 s")
        return 1
    finally:
        shutil.rmtree(runtime, ignore_errors=True)

    print("\nwlcs results:")
    for name, result in results:
        print(f"  {result}  {name}")
    counts = {r: sum(1 for _, x in results if x == r) for r in ("PASS", "FAIL", "SKIP")}
    print(f"wlcs: {counts['PASS']} passed, {counts['FAIL']} failed, "
          f"{counts['SKIP']} skipped; wlcs exited with {status}")
    if not results:
        print("wlcs: no test ran")
        return 1
    return 0 if status == 0 and counts["FAIL"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

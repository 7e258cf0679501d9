"""The unprivileged system user that tests and benchmarks run a compositor
as when they run as root: sway refuses root. tests/preload and
bench/bench-sway-preload.py share it, and may create it at the same
time."""
import os
import pwd
import shutil
import subprocess
import time

NAME = "shmguard-test"


class Unavailable(Exception):
    """The user is needed and cannot be had: the message says why."""


def get_or_create(program, log=None):
    """The user to run @program (which refuses root) as: None when this
    process is not root (@program runs as its user); as root, NAME, made
    with useradd if missing (@log, if given, is told). Raises Unavailable."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(NAME)
    except KeyError:
        pass
    useradd = shutil.which("useradd")
    if useradd is None:
        raise Unavailable(f"{program} refuses to run as root, and there is no useradd to "
                          f"create the unprivileged user {NAME} (Debian package passwd)")
    # Another test may be creating the user now (useradd then fails to
    # lock /etc/passwd, status 10, or finds the user there).
    for _ in range(50):
        done = subprocess.run(
            [useradd, "--system", "--user-group", "--no-create-home",
             "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
             "--comment", "libshmguard tests, for compositors that refuse root", NAME],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            user = pwd.getpwnam(NAME)
            if done.returncode == 0 and log is not None:
                log(f"created the system user {NAME} (uid {user.pw_uid})")
            return user
        except KeyError:
            pass
        if done.returncode != 10:
            break
        time.sleep(0.1)
    raise Unavailable(f"{program} refuses to run as root, and the unprivileged user {NAME} "
                      f"could not be created: useradd exited {done.returncode}: "
                      f"{done.stdout.strip()}")

"""A no-change rebuild does nothing (issue 10, part 6): scripts/test and then scripts/run each configure the
build folder again (scripts/setup) before building, and that second configure must leave every build
command and every generated input as it was, or ninja rebuilds. Checked in a fresh build folder configured
as scripts/setup does, twice:
- the command of every build edge (`ninja -t commands`) is the same after the second configure;
- no file the configure generates for the build (outside CMake's own bookkeeping) is rewritten;
- a cheap set of real targets, built after the first configure, reports "no work to do" after the second.
(It once failed here: libzmq's "-isystem" flag moved between configures and rebuilt the protocol code, and
the nvidia plugin's linker map was rewritten and the plugin relinked.)"""
import os
import shutil
import subprocess
import time

from accel_testlib import fail
from deploy_testlib import SOURCE, run

# Targets with a configure-generated or custom-command input, cheap to build.
CHEAP_TARGETS = ["accel_web_assets", "accel_debian_changelog"]
BOOKKEEPING = ("CMakeFiles", "CMakeCache.txt", "build.ninja", "compile_commands.json", "CTestTestfile.cmake",
               "cmake_install.cmake", "CPackConfig.cmake", "CPackSourceConfig.cmake", ".ninja_log", ".ninja_deps",
               "DartConfiguration.tcl")


def configure(build):
    args = ["cmake", "-S", SOURCE, "-B", build, "-DCMAKE_BUILD_TYPE=RelWithDebInfo"]
    if not os.path.exists(os.path.join(build, "CMakeCache.txt")):
        args[1:1] = ["-G", "Ninja"]
    run(args)


def generated_files(build):
    found = {}
    for dirpath, dirnames, files in os.walk(build):
        dirnames[:] = [d for d in dirnames if d not in BOOKKEEPING]
        for f in files:
            if f in BOOKKEEPING or f.endswith("_include.cmake") or f.endswith("_tests.cmake"):
                continue
            path = os.path.join(dirpath, f)
            found[path] = os.stat(path).st_mtime_ns
    return found


def main():
    base = os.environ.get("ACCEL_BUILD_DIR") or os.path.join(SOURCE, "build")
    build = os.path.join(base, "no-change-rebuild")
    shutil.rmtree(build, ignore_errors=True)
    try:
        start = time.monotonic()
        configure(build)
        commands1 = run(["ninja", "-C", build, "-t", "commands"]).splitlines()
        run(["ninja", "-C", build] + CHEAP_TARGETS)
        files1 = generated_files(build)
        time.sleep(1.1)  # so that a rewrite shows in the mtime even on coarse file systems
        configure(build)
        commands2 = run(["ninja", "-C", build, "-t", "commands"]).splitlines()
        files2 = generated_files(build)
        second = run(["ninja", "-C", build] + CHEAP_TARGETS)
        problems = []
        if len(commands1) < 100:
            problems.append("only %d build commands: is this the whole project?" % len(commands1))
        changed = sorted(set(commands2) - set(commands1))
        for c in changed[:5]:
            problems.append("command changed by the second configure: %s" % c[:400])
        if len(changed) > 5:
            problems.append("... and %d more changed commands" % (len(changed) - 5))
        for path, mtime in sorted(files1.items()):
            if files2.get(path) != mtime:
                problems.append("rewritten by the second configure: %s" % os.path.relpath(path, build))
        if "no work to do" not in second:
            problems.append("the second build of %s did work:\n%s" % (" ".join(CHEAP_TARGETS), second))
        if problems:
            for p in problems:
                print("FAIL:", p)
            fail("%d problems: a no-change rebuild would rebuild" % len(problems))
        print("no-change rebuild: %d build commands and %d generated files unchanged by a second configure; "
              "second build: no work to do (%.0f s)" % (len(commands1), len(files1), time.monotonic() - start))
    finally:
        shutil.rmtree(build, ignore_errors=True)


if __name__ == "__main__":
    main()

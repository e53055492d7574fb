# Cross-compiling Accel for arm64 (aarch64) with Debian's cross toolchain (crossbuild-essential-arm64) and
# multiarch :arm64 -dev packages in the same root: scripts/cross-arm64 uses it inside its build root.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Libraries and CMake packages of the target come from /usr/lib/aarch64-linux-gnu (multiarch); programs
# (protoc, grpc_cpp_plugin) are the build machine's own.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
# Test programs run under user-mode QEMU (called directly; no binfmt_misc needed).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static)
# Tests are listed when ctest runs them, not after each link (each listing would start QEMU).
set(CMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE PRE_TEST)

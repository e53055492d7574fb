# The GPU check's build, included by the top-level CMakeLists.txt when ACCEL_GPU_CHECK_DEPS is set (by
# scripts/gpu-check; see docs/nvidia.md, "GPU check"). It builds the nvidia engine (static library and
# plugin), its tests (the nvidia area: nvidia_tests, nvidia_gpu_tests) and torch_bench, and nothing else:
# no HTTP, gRPC or ZMQ front end, so no Boost, gRPC, protobuf compiler or ZMQ.
#
# Every dependency other than libtorch comes from the bundle that scripts/gpu-bundle made:
#   include/        headers of yaml-cpp, nlohmann-json, libturbojpeg, libspng, OpenCV core + dnn
#   lib/            their shared libraries and everything those need, each under its SONAME only
#                   (lib<name>.so.<n>; no development symlinks, which might not survive the copy)
#   src/googletest  GoogleTest's sources, built here with this machine's compiler
# The bundle's libraries are found by explicit path, never by searching the system, so a piece missing from
# the bundle fails this configure (or the link) here as well as on the GPU machine. libtorch is found as in
# every build (src/engines/nvidia/CMakeLists.txt: ACCEL_TORCH_ROOT or find_package(Torch)).
set(accel_deps "${ACCEL_GPU_CHECK_DEPS}")
foreach(sub include lib src/googletest)
  if(NOT IS_DIRECTORY "${accel_deps}/${sub}")
    message(FATAL_ERROR "ACCEL_GPU_CHECK_DEPS=${accel_deps} has no ${sub}/: run scripts/gpu-bundle")
  endif()
endforeach()
message(STATUS "GPU check build: dependencies from ${accel_deps}")

find_package(Threads REQUIRED)

# The bundle's library lib<name>.so.<n> (exactly one) into `var`.
function(accel_bundled_library var name)
  file(GLOB found "${accel_deps}/lib/lib${name}.so.*")
  list(LENGTH found count)
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "expected one lib${name}.so.* in ${accel_deps}/lib, found ${count}: rerun "
                        "scripts/gpu-bundle")
  endif()
  set(${var} "${found}" PARENT_SCOPE)
endfunction()

# Imported targets under the names the rest of the build links (the names Debian's packages give them).
function(accel_bundled_target target name)
  accel_bundled_library(location ${name})
  add_library(${target} SHARED IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES IMPORTED_LOCATION "${location}"
                        INTERFACE_INCLUDE_DIRECTORIES "${accel_deps}/include")
endfunction()
accel_bundled_target(yaml-cpp yaml-cpp)
accel_bundled_target(PkgConfig::TURBOJPEG turbojpeg)
accel_bundled_target(PkgConfig::SPNG spng)
add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED GLOBAL)
set_target_properties(nlohmann_json::nlohmann_json PROPERTIES
                      INTERFACE_INCLUDE_DIRECTORIES "${accel_deps}/include")

# The cpu engine (the reference of the differential test) takes OpenCV from these cache entries; with them
# set, its find_path / find_library calls (src/engines/cpu/CMakeLists.txt) search nothing.
accel_bundled_library(accel_opencv_core opencv_core)
accel_bundled_library(accel_opencv_dnn opencv_dnn)
set(OPENCV_INCLUDE_DIR "${accel_deps}/include/opencv4" CACHE PATH "" FORCE)
set(OPENCV_CORE_LIB "${accel_opencv_core}" CACHE FILEPATH "" FORCE)
set(OPENCV_DNN_LIB "${accel_opencv_dnn}" CACHE FILEPATH "" FORCE)

# The bundled libraries' own dependencies (OpenCV's protobuf, TBB, LAPACK...) are found through the bundle
# at link time (-rpath-link) and at run time: DT_RPATH (--disable-new-dtags), unlike DT_RUNPATH, also
# applies to the dependencies of dependencies, so the tests and torch_bench run without LD_LIBRARY_PATH.
add_link_options("LINKER:-rpath-link,${accel_deps}/lib" "LINKER:--disable-new-dtags"
                 "LINKER:-rpath,${accel_deps}/lib")

# GoogleTest from source: GTest::gtest, GTest::gmock, GTest::gtest_main.
set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
set(BUILD_GMOCK ON CACHE BOOL "" FORCE)
add_subdirectory("${accel_deps}/src/googletest" "${CMAKE_BINARY_DIR}/googletest" EXCLUDE_FROM_ALL)

# No hailo engine here; the nvidia engine is required (the check is about it).
set(ACCEL_WITH_HAILO OFF)
set(ACCEL_WITH_TORCH ON)
set(ACCEL_SRC_DIR ${CMAKE_SOURCE_DIR}/src)
add_subdirectory(src/core)
add_subdirectory(src/vision)
add_subdirectory(src/engines)
add_subdirectory(src/scheduler)
add_subdirectory(bench)

enable_testing()
include(tests/test_areas.cmake)
accel_add_test_area(${CMAKE_SOURCE_DIR}/tests/unit/engines/nvidia)

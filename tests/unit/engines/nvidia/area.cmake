# nvidia engine tests. nvidia_tests (this folder) run the engine in CPU test mode and need no GPU;
# nvidia_gpu_tests (gpu/) run on CUDA devices, carry the CTest label `gpu` and skip without one. Both are
# selected by `ctest -R nvidia`. Both need the converted model (scripts/convert_yolox_torchscript.py).
if(NOT TARGET accel_engine_nvidia)
  set(AREA_SKIP TRUE)
  return()
endif()
set(AREA_LIBS accel_engine_nvidia accel_engine_cpu accel_vision accel_core nlohmann_json::nlohmann_json)

add_executable(nvidia_gpu_tests ${CMAKE_CURRENT_LIST_DIR}/gpu/torch_engine_gpu_test.cc
                                ${CMAKE_CURRENT_LIST_DIR}/nvidia_test_support.cc)
target_include_directories(nvidia_gpu_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR})
# accel_scheduler: the sticky-error test runs the failing GPU and the CPU test device behind one scheduler.
target_link_libraries(nvidia_gpu_tests PRIVATE accel_test_support ${AREA_LIBS} accel_scheduler)
gtest_discover_tests(nvidia_gpu_tests TEST_PREFIX "nvidia_gpu." DISCOVERY_TIMEOUT 60
                     PROPERTIES LABELS gpu ENVIRONMENT "ACCEL_SHARED_DIR=${ACCEL_TEST_SHARED_DIR}")

# How a test area (tests/unit/<module>/, tests/unit/engines/<engine>/) becomes one GoogleTest executable
# <area>_tests whose tests are registered with CTest as "<area>.<Suite>.<Test>". Included by
# tests/CMakeLists.txt, which adds every area, and by the GPU check's build (cmake/gpu_check_build.cmake),
# which adds the nvidia area only. Needs GTest::gtest, GTest::gmock and GTest::gtest_main to exist.
#
# Each area says what it links in its area.cmake (sets AREA_LIBS; AREA_SKIP to leave it out). Tests find
# the default model and the test images in ACCEL_TEST_SHARED_DIR (../shared beside the checkout unless the
# build says otherwise; the GPU check points it at the bundle's copy).
include(GoogleTest)

set(ACCEL_TEST_SHARED_DIR "${CMAKE_SOURCE_DIR}/../shared" CACHE PATH
    "Folder with the default model and the test images (models/, testdata/) that the tests read")

add_library(accel_test_support INTERFACE)
target_link_libraries(accel_test_support INTERFACE GTest::gtest GTest::gmock GTest::gtest_main)
target_compile_definitions(accel_test_support INTERFACE
  ACCEL_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
  ACCEL_SHARED_DIR="${ACCEL_TEST_SHARED_DIR}")

function(accel_add_test_area dir)
  if(NOT IS_DIRECTORY ${dir})
    return()
  endif()
  get_filename_component(area ${dir} NAME)
  file(GLOB sources CONFIGURE_DEPENDS ${dir}/*.cc)
  if(NOT sources)
    return()
  endif()
  set(AREA_LIBS "")
  set(AREA_SKIP FALSE)
  if(EXISTS ${dir}/area.cmake)
    include(${dir}/area.cmake)
  endif()
  if(AREA_SKIP)
    return()
  endif()
  add_executable(${area}_tests ${sources})
  target_link_libraries(${area}_tests PRIVATE accel_test_support ${AREA_LIBS})
  gtest_discover_tests(${area}_tests TEST_PREFIX "${area}." DISCOVERY_TIMEOUT 60
                       PROPERTIES ENVIRONMENT "ACCEL_SHARED_DIR=${ACCEL_TEST_SHARED_DIR}")
endfunction()

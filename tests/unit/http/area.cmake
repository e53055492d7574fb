set(AREA_LIBS accel_api)
# The bench core (src/app/bench_command.cc) is tested here too. Use src/app's library when it defines one;
# otherwise compile that one file for the tests, so they do not depend on the whole app linking.
if(TARGET accel_bench)
  list(APPEND AREA_LIBS accel_bench)
elseif(EXISTS ${ACCEL_SRC_DIR}/app/bench_command.cc)
  if(NOT TARGET accel_bench_for_tests)
    add_library(accel_bench_for_tests STATIC ${ACCEL_SRC_DIR}/app/bench_command.cc)
    target_link_libraries(accel_bench_for_tests PUBLIC accel_api)
  endif()
  list(APPEND AREA_LIBS accel_bench_for_tests)
endif()

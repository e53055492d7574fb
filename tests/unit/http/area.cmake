set(AREA_LIBS accel_api)
# The bench core (src/app/loadgen_command.cc) is tested here too. Use src/app's library when it defines one;
# otherwise compile that one file for the tests, so they do not depend on the whole app linking.
if(TARGET accel_loadgen)
  list(APPEND AREA_LIBS accel_loadgen)
elseif(EXISTS ${ACCEL_SRC_DIR}/app/loadgen_command.cc)
  if(NOT TARGET accel_loadgen_for_tests)
    add_library(accel_loadgen_for_tests STATIC ${ACCEL_SRC_DIR}/app/loadgen_command.cc)
    target_link_libraries(accel_loadgen_for_tests PUBLIC accel_api)
  endif()
  list(APPEND AREA_LIBS accel_loadgen_for_tests)
endif()

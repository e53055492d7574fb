# Video streams in: FFmpeg sources, the per-stream runner (sampling, detection, tracking, outputs) and the
# manager of named streams with its YAML file. docs/streams.md.
pkg_check_modules(LIBAV REQUIRED IMPORTED_TARGET libavformat libavcodec libavutil libswscale libavdevice)
add_library(accel_streams STATIC
  ${CMAKE_CURRENT_LIST_DIR}/frame_source.cc
  ${CMAKE_CURRENT_LIST_DIR}/frame_sampler.cc
  ${CMAKE_CURRENT_LIST_DIR}/stream_config.cc
  ${CMAKE_CURRENT_LIST_DIR}/stream_runner.cc
  ${CMAKE_CURRENT_LIST_DIR}/stream_manager.cc
  ${CMAKE_CURRENT_LIST_DIR}/change_workers.cc
)
target_link_libraries(accel_streams PUBLIC accel_streams_core accel_pipeline accel_vision accel_metrics accel_core yaml-cpp nlohmann_json::nlohmann_json PRIVATE PkgConfig::LIBAV)

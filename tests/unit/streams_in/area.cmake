# src/streams, the video side: URL redaction, stream validation (JSON and the streams file's YAML), the
# sampler's one-in-flight rule, and a FrameSource decoding a clip the ffmpeg CLI makes.
set(AREA_LIBS accel_streams yaml-cpp nlohmann_json::nlohmann_json)

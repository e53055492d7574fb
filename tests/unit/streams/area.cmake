# src/streams: the tracker (ids across frames, confirmation, ageing, update rate, counts), zones, the event
# JSON; the MQTT and Redis Streams outputs against a mosquitto broker and a redis-server the tests start
# (server_process.h).
pkg_check_modules(STREAMS_TEST_MOSQUITTO REQUIRED IMPORTED_TARGET libmosquitto)
pkg_check_modules(STREAMS_TEST_HIREDIS REQUIRED IMPORTED_TARGET hiredis)
set(AREA_LIBS accel_streams_core nlohmann_json::nlohmann_json PkgConfig::STREAMS_TEST_MOSQUITTO
    PkgConfig::STREAMS_TEST_HIREDIS)

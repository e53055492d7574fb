# src/streams: the tracker (ids across frames, confirmation, ageing, update rate, counts), zones, the event
# JSON; the MQTT and Redis Streams outputs against a mosquitto broker and a redis-server the tests start.
set(AREA_LIBS accel_streams_core nlohmann_json::nlohmann_json)

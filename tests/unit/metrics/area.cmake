# The metrics library, the Grafana dashboard check (nlohmann_json) and the embedded web dashboard files.
set(AREA_LIBS accel_metrics accel_web_assets nlohmann_json::nlohmann_json)

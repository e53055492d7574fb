# The metrics library, the Grafana dashboard check (nlohmann_json; accel_streams for the per-stream
# families it queries) and the embedded web dashboard files.
set(AREA_LIBS accel_metrics accel_streams accel_web_assets nlohmann_json::nlohmann_json)

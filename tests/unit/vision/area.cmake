set(AREA_LIBS accel_vision nlohmann_json::nlohmann_json PkgConfig::TURBOJPEG PkgConfig::SPNG)

set(AREA_LIBS accel_api accel_loadgen)

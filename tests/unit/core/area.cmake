set(AREA_LIBS accel_core)

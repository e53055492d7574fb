set(AREA_LIBS accel_engine_sim)

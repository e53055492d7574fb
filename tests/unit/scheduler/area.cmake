set(AREA_LIBS accel_scheduler accel_engine_sim)

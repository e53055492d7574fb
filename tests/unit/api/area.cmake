set(AREA_LIBS accel_app_lib)

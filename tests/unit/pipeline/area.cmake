# The detection pipeline (decode -> letterbox -> scheduler -> decode head -> filter) on the sim engine.
set(AREA_LIBS accel_pipeline accel_engine_sim)

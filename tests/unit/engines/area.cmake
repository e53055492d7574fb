# What engines share (src/engines/: SyncEngine, ModelTable, EngineCounters, item checks), tested on a fake
# engine: no SDK, no model file. The engines themselves are tested in their own areas (sim, nvidia, hailo).
set(AREA_LIBS accel_engine_api)

# src/cache: keys, values and their byte form, the in-process LRU, the circuit breaker, REDIS_URL, the Redis
# level against an unreachable address, single flight; and the pipeline with a cache on the cpu engine.
set(AREA_LIBS accel_cache accel_pipeline accel_test_service accel_engine_cpu accel_engine_sim)

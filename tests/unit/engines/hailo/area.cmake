# Hailo engine tests that need no SDK and no card: NMS layouts, options, status mapping, host scan and
# device identity, model.yaml checks, recovery back-off. Card-only tests (none yet) would carry the label
# `hailo` and live behind ACCEL_HAVE_HAILO_ENGINE.
set(AREA_LIBS accel_vision accel_hailo_support)

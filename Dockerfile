# Accel's container image: docs/deploy.md. Variants are build targets:
#   cpu     (default, last stage)  the cpu engine; amd64 and arm64
#   hailo   cpu + the hailo engine on HailoRT, from a .deb you put in deploy/container/hailo/
#   nvidia  cpu + the nvidia engine on a CUDA libtorch taken from TORCH_IMAGE (a PyTorch image)
# docker build -t accel .                      (or: scripts/container build [--variant ...])
# docker run -p 8000:8000 accel               serves the baked-in default model (YOLOX-Nano)
#
# Build arguments: BASE_IMAGE (runtime, default debian:bookworm-slim), BUILD_IMAGE (builder base, default
# debian:bookworm; scripts/container passes an image of the build-deps stage built before, on which the
# stage's apt-get finds everything installed), BUILD_JOBS (compile jobs, default all cores), TORCH_IMAGE and
# TORCH_DIR (nvidia only).
# The default model must be staged first into .container/models (scripts/container does it, checking
# ../shared/models/SHA256SUMS).
ARG BASE_IMAGE=debian:bookworm-slim
ARG BUILD_IMAGE=debian:bookworm
# nvidia: a PyTorch image whose libtorch uses the C++11 ABI (PyTorch 2.7 or newer) and the folder of its
# torch package (include/, lib/); the pip-installed CUDA libraries (nvidia/*/lib) sit beside it.
ARG TORCH_IMAGE=pytorch/pytorch:2.7.1-cuda12.8-cudnn9-runtime
ARG TORCH_DIR=/opt/conda/lib/python3.11/site-packages/torch
# cpu only: where the installed binary comes from. build-cpu compiles it from the sources (the default, what
# users build); prebuilt-cpu takes .container/prebuilt/, a build folder's install that
# `scripts/container build --prebuilt BUILD_DIR` stages from a Debian 12 build (the deployment tests use it
# to skip a second compile).
ARG CPU_PAYLOAD=build-cpu

# ---- builder: Debian 12 with the -dev packages (the same list as scripts/setup) -------------------------
FROM ${BUILD_IMAGE} AS build-deps
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates ccache \
      libboost-dev libssl-dev nlohmann-json3-dev libyaml-cpp-dev libturbojpeg0-dev libspng-dev \
      libopencv-dnn-dev libopencv-imgproc-dev libopencv-imgcodecs-dev libxnnpack-dev libpthreadpool-dev \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libzmq3-dev cppzmq-dev \
      libhiredis-dev libxxhash-dev libmosquitto-dev libavformat-dev libavcodec-dev libswscale-dev libavutil-dev \
      libavdevice-dev \
 && rm -rf /var/lib/apt/lists/*

# ---- runtime base: bookworm-slim, a system user, no compilers ------------------------------------------
FROM ${BASE_IMAGE} AS runtime-base
RUN groupadd --system --gid 10001 accel \
 && useradd --system --uid 10001 --gid accel --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin accel
# Installs the packages listed in /tmp/runtime-packages (written by the builder) and nothing else.
COPY deploy/container/install-runtime.sh /usr/local/lib/accel/install-runtime.sh

# ---- hailo -------------------------------------------------------------------------------------------
FROM build-deps AS build-hailo
COPY . /src
RUN set -e; debs=$(ls /src/deploy/container/hailo/hailort*.deb 2>/dev/null || true); \
    if [ -z "$debs" ]; then \
      echo "ERROR: the hailo variant needs HailoRT's Debian package in deploy/container/hailo/" >&2; \
      echo "  (hailort_<version>_<arch>.deb from Hailo's developer zone; Hailo does not publish it to a" >&2; \
      echo "  package repository). See docs/deploy.md." >&2; exit 1; fi; \
    apt-get update && apt-get install -y --no-install-recommends $debs && rm -rf /var/lib/apt/lists/*
RUN /src/deploy/container/build-accel.sh -DACCEL_WITH_HAILO=ON -DACCEL_WITH_TORCH=OFF

FROM runtime-base AS hailo
COPY deploy/container/hailo/ /tmp/hailo/
COPY --from=build-hailo /out/runtime-packages /tmp/runtime-packages
RUN /usr/local/lib/accel/install-runtime.sh /tmp/hailo/hailort*.deb && rm -rf /tmp/hailo
COPY --from=build-hailo /out/usr/local/ /usr/local/
COPY --chown=accel:accel .container/models/ /models/
ENV MODELS_DIR=/models SUPPORT_HAILO=true DEFAULT_ENGINE=auto FALLBACK_ENGINE=cpu
VOLUME /models
EXPOSE 8000 8001 5555
USER accel
WORKDIR /models
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["accel", "health"]
ENTRYPOINT ["accel"]
CMD ["serve"]

# ---- nvidia ------------------------------------------------------------------------------------------
FROM ${TORCH_IMAGE} AS torch

FROM build-deps AS build-nvidia
ARG TORCH_DIR
COPY --from=torch ${TORCH_DIR}/include /opt/libtorch/include
COPY --from=torch ${TORCH_DIR}/lib /opt/libtorch/lib
COPY --from=torch ${TORCH_DIR}/share /opt/libtorch/share
COPY . /src
RUN ACCEL_EXTRA_LIBS=/opt/libtorch/lib /src/deploy/container/build-accel.sh \
      -DACCEL_WITH_TORCH=ON -DACCEL_TORCH_ROOT=/opt/libtorch -DACCEL_WITH_HAILO=OFF

FROM runtime-base AS nvidia
ARG TORCH_DIR
COPY --from=build-nvidia /out/runtime-packages /tmp/runtime-packages
RUN /usr/local/lib/accel/install-runtime.sh
# libtorch and the CUDA libraries the PyTorch wheel brought (pip's nvidia-* packages); the driver itself
# (libcuda) comes from the host through the NVIDIA container toolkit.
COPY --from=torch ${TORCH_DIR}/lib /opt/libtorch/lib
COPY --from=torch ${TORCH_DIR}/../nvidia /opt/libtorch/nvidia
RUN { echo /opt/libtorch/lib; find /opt/libtorch/nvidia -type d -name lib; } > /etc/ld.so.conf.d/libtorch.conf \
 && ldconfig
COPY --from=build-nvidia /out/usr/local/ /usr/local/
COPY --chown=accel:accel .container/models/ /models/
ENV MODELS_DIR=/models ACCEL_PLUGIN_DIR=/usr/local/lib/accel SUPPORT_NVIDIA=true DEFAULT_ENGINE=auto \
    FALLBACK_ENGINE=cpu NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility
VOLUME /models
EXPOSE 8000 8001 5555
USER accel
WORKDIR /models
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["accel", "health"]
ENTRYPOINT ["accel"]
CMD ["serve"]

# ---- cpu (the default target) ------------------------------------------------------------------------
FROM build-deps AS build-cpu
COPY . /src
RUN /src/deploy/container/build-accel.sh -DACCEL_WITH_TORCH=OFF -DACCEL_WITH_HAILO=OFF

FROM scratch AS prebuilt-cpu
COPY .container/prebuilt/ /out/

FROM ${CPU_PAYLOAD} AS cpu-payload

FROM runtime-base AS cpu
COPY --from=cpu-payload /out/runtime-packages /tmp/runtime-packages
RUN /usr/local/lib/accel/install-runtime.sh
COPY --from=cpu-payload /out/usr/local/ /usr/local/
# The default model (YOLOX-Nano), staged and checksum-checked by scripts/container. /models is the model
# repository: mount your own over it (keep yolox-nano there too, or set DEFAULT_MODEL).
COPY --chown=accel:accel .container/models/ /models/
# Every `accel serve --help` option can be set by its environment variable; these are the image's own.
ENV MODELS_DIR=/models
VOLUME /models
EXPOSE 8000 8001 5555
USER accel
WORKDIR /models
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["accel", "health"]
LABEL org.opencontainers.image.title="Accel" \
      org.opencontainers.image.description="One inference service for every accelerator (cpu variant)" \
      org.opencontainers.image.licenses="Apache-2.0"
ENTRYPOINT ["accel"]
CMD ["serve"]

#!/usr/bin/python3
"""Writes a TorchScript module that provokes a real, sticky CUDA error: a device-side assert.

The module has YOLOX-Nano's interface (input [N, 3, 416, 416] float, output [N, 3549, 85]) so the engine
loads and runs it like the default model, but it gathers from indices past the end of its input. On a
CUDA device the gather kernel's bounds assert fires: the batch fails with "CUDA error: device-side assert
triggered" and the process's CUDA context on that device stays unusable, which is what the nvidia engine
must treat as a device failure (docs/nvidia.md, "Errors"). On the CPU the same gather raises an ordinary
IndexError, which must fail the batch only.

A device-side assert is the safest sticky error there is: it is confined to the process that raised it,
touches no memory outside its own allocations and needs no reset of the GPU; the context goes with the
process. Used by scripts/gpu-check (ACCEL_CUDA_FAULT_MODEL) for the tests
nvidia_gpu.TorchEngineGpu.StickyCudaErrorFailsOnlyThatDevice and
nvidia.TorchEngineCpu.OutOfRangeGatherFailsTheBatchOnly.

Usage: python3 scripts/make_cuda_fault_model.py --output PATH   (any python with torch)
"""

import argparse
import os

import torch

ANCHORS = 3549
CHANNELS_OUT = 85


class OutOfRangeGather(torch.nn.Module):
    anchors: torch.jit.Final[int]
    channels: torch.jit.Final[int]

    def __init__(self):
        super().__init__()
        self.anchors = ANCHORS
        self.channels = CHANNELS_OUT

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        n = images.shape[0]
        flat = images.reshape(n, -1)
        # Every index lies just past the end of its row, so no output element is ever valid. torch.gather
        # checks its int64 indices on the device (a kernel assert), where an unchecked read this close to
        # the end could land in a neighbouring allocation and go unnoticed.
        index = torch.arange(self.anchors * self.channels, device=images.device) + flat.shape[1]
        return torch.gather(flat, 1, index.unsqueeze(0).expand(n, -1)).reshape(n, self.anchors, self.channels)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", required=True, help="TorchScript file to write")
    args = parser.parse_args()
    module = torch.jit.script(OutOfRangeGather().eval())
    # The fault must be real on the CPU too (an IndexError), or the module is not what it claims to be.
    try:
        module(torch.zeros(1, 3, 416, 416))
    except (IndexError, RuntimeError) as e:
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        print("CPU check: the gather fails as intended (%s)" % lines[-1])
    else:
        raise SystemExit("make_cuda_fault_model: the gather did not fail on the CPU")
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    torch.jit.save(module, args.output)
    print("wrote %s (torch %s)" % (os.path.abspath(args.output), torch.__version__))


if __name__ == "__main__":
    main()

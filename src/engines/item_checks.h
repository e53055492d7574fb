// The per-item I/O contract between the scheduler and the engines, checked in one place: SyncEngine checks
// every item before Run and every result after it; the scheduler checks the outputs of every engine
// (including those not built on SyncEngine) before a result reaches a client.
//
// Pure functions; any thread.
#pragma once

#include "core/model_config.h"
#include "core/status.h"
#include "core/tensor.h"

namespace accel {

// The input of one item: the model's dtype and shape [1, ...model.InputItemShape()]. INVALID_ARGUMENT
// (the client's input, not the device's fault) otherwise, and for a null input.
Status CheckItemInput(const ModelConfig& model, const Tensor* input);

// The outputs of one item: one tensor per declared output, batch dimension 1, fixed dims equal. INTERNAL
// otherwise (an engine or artifact that breaks the model's contract).
Status CheckItemOutputs(const ModelConfig& model, const TensorList& outputs);

}  // namespace accel

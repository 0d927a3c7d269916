// Batched matrix products (tfjs hands BatchMatMul rank-3 operands, batch dims broadcast).
#include "handle.h"

namespace native {

namespace {

// batchMatMul(a, b, transposeA, transposeB)
Napi::Value BatchMatMul(const Napi::CallbackInfo& info) {
  NATIVE_TRY("BatchMatMul", {
    at::Tensor a = Handle::Get(info[0]);
    at::Tensor b = Handle::Get(info[1]);
    if (info[2].As<Napi::Boolean>().Value()) a = a.transpose(-1, -2);
    if (info[3].As<Napi::Boolean>().Value()) b = b.transpose(-1, -2);
    return Handle::Wrap(info.Env(), at::matmul(a, b).contiguous());
  })
}

}  // namespace

void InitMatmul(Napi::Env env, Napi::Object exports) {
  exports.Set("batchMatMul", Napi::Function::New(env, BatchMatMul));
}

}  // namespace native

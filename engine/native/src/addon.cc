// Entry point of the contsup native addon: tfjs kernels as ATen calls.
#include "handle.h"

namespace native {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitHandle(env, exports);
  InitConv(env, exports);
  InitElementwise(env, exports);
  InitReduce(env, exports);
  InitShape(env, exports);
  InitMatmul(env, exports);
  InitBatchNorm(env, exports);
  InitOptim(env, exports);
  return exports;
}

NODE_API_MODULE(contsup_native, Init)

}  // namespace native

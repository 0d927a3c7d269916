// Training-mode batch norm over the channel axis of an NHWC tensor, forward and
// closed-form gradient, each one ATen call (native_batch_norm and its backward) on
// the channels_last view: one pass for the statistics and one for the output,
// where the same math as separate tfjs kernels takes about a dozen passes.
#include "handle.h"

namespace native {

namespace {

at::Tensor ToNchw(const at::Tensor& nhwc) { return nhwc.permute({0, 3, 1, 2}); }
at::Tensor ToNhwc(const at::Tensor& nchw) { return nchw.permute({0, 2, 3, 1}).contiguous(); }

void CheckNhwc(const at::Tensor& x, const char* kernel) {
  if (x.dim() != 4 || x.scalar_type() != at::kFloat) throw std::invalid_argument(std::string(kernel) + " needs a float32 NHWC tensor");
}

// batchNormTrain(x NHWC, gamma [C], beta [C], eps) -> [y NHWC, mean [C], biased variance [C], 1/sqrt(variance + eps) [C]]
Napi::Value BatchNormTrain(const Napi::CallbackInfo& info) {
  NATIVE_TRY("ContsupBatchNormTrain", {
    const at::Tensor& xIn = Handle::Get(info[0]);
    CheckNhwc(xIn, "ContsupBatchNormTrain");
    double eps = info[3].As<Napi::Number>().DoubleValue();
    auto [y, mean, invstd] = at::native_batch_norm(ToNchw(xIn), Handle::Get(info[1]), Handle::Get(info[2]), c10::nullopt, c10::nullopt, true, 0.0, eps);
    // ATen keeps invstd, not the variance the running statistics need; recovered in double.
    at::Tensor variance = (at::reciprocal(invstd.to(at::kDouble).square()) - eps).to(at::kFloat);
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env, 4);
    out.Set(0u, Handle::Wrap(env, ToNhwc(y)));
    out.Set(1u, Handle::Wrap(env, mean));
    out.Set(2u, Handle::Wrap(env, variance));
    out.Set(3u, Handle::Wrap(env, invstd));
    return out;
  })
}

// batchNormTrainGrad(dy NHWC, x NHWC, mean, invstd, gamma, eps) -> [dx NHWC, dGamma, dBeta]
//   dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)), dGamma = sum(dy * xhat), dBeta = sum(dy)
Napi::Value BatchNormTrainGrad(const Napi::CallbackInfo& info) {
  NATIVE_TRY("ContsupBatchNormTrainGrad", {
    const at::Tensor& dy = Handle::Get(info[0]);
    const at::Tensor& x = Handle::Get(info[1]);
    CheckNhwc(dy, "ContsupBatchNormTrainGrad");
    CheckNhwc(x, "ContsupBatchNormTrainGrad");
    double eps = info[5].As<Napi::Number>().DoubleValue();
    auto [dx, dGamma, dBeta] = at::native_batch_norm_backward(ToNchw(dy), ToNchw(x), Handle::Get(info[4]), c10::nullopt, c10::nullopt,
                                                             Handle::Get(info[2]), Handle::Get(info[3]), true, eps, {true, true, true});
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env, 3);
    out.Set(0u, Handle::Wrap(env, ToNhwc(dx)));
    out.Set(1u, Handle::Wrap(env, dGamma));
    out.Set(2u, Handle::Wrap(env, dBeta));
    return out;
  })
}

}  // namespace

void InitBatchNorm(Napi::Env env, Napi::Object exports) {
  exports.Set("batchNormTrain", Napi::Function::New(env, BatchNormTrain));
  exports.Set("batchNormTrainGrad", Napi::Function::New(env, BatchNormTrainGrad));
}

}  // namespace native

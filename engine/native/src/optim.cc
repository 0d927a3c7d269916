// The optimiser's update of one variable in one call: SGD with (Nesterov) momentum
// and weight decay, the same float32 operations in the same order as engine/train/sgd.ts
// runs them as separate kernels (so the numbers are the same), in one pass.
#include "handle.h"

namespace native {

namespace {

// sgdStep(v, grad, buf, lr, momentum, weightDecay, nesterov) -> [v', buf']
//   g = grad + wd * v;  buf' = m * buf + g;  v' = v - lr * (nesterov ? g + m * buf' : buf')
Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  NATIVE_TRY("ContsupSgdStep", {
    at::Tensor v = Handle::Get(info[0]).contiguous();
    at::Tensor grad = Handle::Get(info[1]).contiguous();
    at::Tensor buf = Handle::Get(info[2]).contiguous();
    if (v.scalar_type() != at::kFloat || grad.scalar_type() != at::kFloat || buf.scalar_type() != at::kFloat) throw std::invalid_argument("float32 tensors only");
    if (!v.sizes().equals(grad.sizes()) || !v.sizes().equals(buf.sizes())) throw std::invalid_argument("variable, gradient and momentum buffer differ in shape");
    // Scalars rounded to float32 first, as tfjs makes them float32 scalar tensors.
    const float lr = static_cast<float>(info[3].As<Napi::Number>().DoubleValue());
    const float m = static_cast<float>(info[4].As<Napi::Number>().DoubleValue());
    const float wd = static_cast<float>(info[5].As<Napi::Number>().DoubleValue());
    const bool nesterov = info[6].As<Napi::Boolean>().Value();
    at::Tensor vOut = at::empty_like(v), bufOut = at::empty_like(buf);
    const float* pv = v.data_ptr<float>();
    const float* pg = grad.data_ptr<float>();
    const float* pb = buf.data_ptr<float>();
    float* ov = vOut.data_ptr<float>();
    float* ob = bufOut.data_ptr<float>();
    const int64_t n = v.numel();
    for (int64_t i = 0; i < n; i++) {
      const float g = wd > 0 ? pg[i] + pv[i] * wd : pg[i];
      const float b = pb[i] * m + g;
      const float update = nesterov ? g + b * m : b;
      ob[i] = b;
      ov[i] = pv[i] - update * lr;
    }
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env, 2);
    out.Set(0u, Handle::Wrap(env, vOut));
    out.Set(1u, Handle::Wrap(env, bufOut));
    return out;
  })
}

}  // namespace

void InitOptim(Napi::Env env, Napi::Object exports) {
  exports.Set("sgdStep", Napi::Function::New(env, SgdStep));
}

}  // namespace native

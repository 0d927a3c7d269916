// Convolution and pooling. tfjs NHWC tensors are viewed as channels_last NCHW
// (a permute: no copy), so oneDNN/ATen run their channels_last kernels and the
// results permute back to NHWC without a copy either.
#include "handle.h"

namespace native {

namespace {

at::Tensor ToNchw(const at::Tensor& nhwc) { return nhwc.permute({0, 3, 1, 2}); }

/** Back to a row-major NHWC tensor: free when the ATen result is channels_last already. */
at::Tensor ToNhwc(const at::Tensor& nchw) { return nchw.permute({0, 2, 3, 1}).contiguous(); }

/** tfjs filter [kh, kw, in, out] as ATen's [out, in, kh, kw]. */
at::Tensor ToOihw(const at::Tensor& hwio) { return hwio.permute({3, 2, 0, 1}); }

at::Tensor ToHwio(const at::Tensor& oihw) { return oihw.permute({2, 3, 1, 0}).contiguous(); }

struct Geometry {
  std::vector<int64_t> stride, dilation;
  int64_t top, bottom, left, right;
  bool symmetric() const { return top == bottom && left == right; }
  std::vector<int64_t> padding() const { return {top, left}; }
};

// Arguments after the tensors: [sh, sw], [top, bottom, left, right], [dh, dw].
Geometry ReadGeometry(const Napi::CallbackInfo& info, size_t at) {
  std::vector<int64_t> pads = IntList(info[at + 1]);
  if (pads.size() != 4) throw std::invalid_argument("pads must be [top, bottom, left, right]");
  for (int64_t p : pads) if (p < 0) throw std::invalid_argument("negative padding is not supported");
  return Geometry{IntList(info[at]), IntList(info[at + 2]), pads[0], pads[1], pads[2], pads[3]};
}

/** NCHW input padded asymmetrically up front, so ATen sees symmetric (zero) padding. */
at::Tensor PadInput(const at::Tensor& x, const Geometry& g) {
  return at::constant_pad_nd(x, {g.left, g.right, g.top, g.bottom}, 0).contiguous(at::MemoryFormat::ChannelsLast);
}

// conv2d(x NHWC, filter HWIO, strides, pads, dilations) -> y NHWC
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  NATIVE_TRY("Conv2D", {
    at::Tensor x = ToNchw(Handle::Get(info[0]));
    at::Tensor w = ToOihw(Handle::Get(info[1]));
    Geometry g = ReadGeometry(info, 2);
    std::vector<int64_t> padding = g.padding();
    if (!g.symmetric()) {
      x = PadInput(x, g);
      padding = {0, 0};
    }
    at::Tensor y = at::convolution(x, w, c10::nullopt, g.stride, padding, g.dilation, false, {0, 0}, 1);
    return Handle::Wrap(info.Env(), ToNhwc(y));
  })
}

// conv2dBackpropInput(dy NHWC, filter HWIO, inputShape NHWC, strides, pads, dilations) -> dx NHWC
Napi::Value Conv2dBackpropInput(const Napi::CallbackInfo& info) {
  NATIVE_TRY("Conv2DBackpropInput", {
    at::Tensor dy = ToNchw(Handle::Get(info[0]));
    at::Tensor w = ToOihw(Handle::Get(info[1]));
    std::vector<int64_t> s = IntList(info[2]);  // N H W C
    Geometry g = ReadGeometry(info, 3);
    int64_t h = s[1] + g.top + g.bottom, wd = s[2] + g.left + g.right;
    std::vector<int64_t> padding = g.symmetric() ? g.padding() : std::vector<int64_t>{0, 0};
    if (g.symmetric()) { h = s[1]; wd = s[2]; }
    // Only the input's sizes and layout matter for the input gradient.
    at::Tensor shapeOnly = at::empty({s[0], s[3], h, wd}, dy.options().memory_format(at::MemoryFormat::ChannelsLast));
    auto grads = at::convolution_backward(dy, shapeOnly, w, c10::nullopt, g.stride, padding, g.dilation, false, {0, 0}, 1, {true, false, false});
    at::Tensor dx = std::get<0>(grads);
    if (!g.symmetric()) dx = dx.narrow(2, g.top, s[1]).narrow(3, g.left, s[2]);
    return Handle::Wrap(info.Env(), ToNhwc(dx));
  })
}

// conv2dBackpropFilter(x NHWC, dy NHWC, filterShape HWIO, strides, pads, dilations) -> dw HWIO
Napi::Value Conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  NATIVE_TRY("Conv2DBackpropFilter", {
    at::Tensor x = ToNchw(Handle::Get(info[0]));
    at::Tensor dy = ToNchw(Handle::Get(info[1]));
    std::vector<int64_t> fs = IntList(info[2]);  // kh kw in out
    Geometry g = ReadGeometry(info, 3);
    std::vector<int64_t> padding = g.padding();
    if (!g.symmetric()) {
      x = PadInput(x, g);
      padding = {0, 0};
    }
    at::Tensor shapeOnly = at::empty({fs[3], fs[2], fs[0], fs[1]}, x.options());
    auto grads = at::convolution_backward(dy, x, shapeOnly, c10::nullopt, g.stride, padding, g.dilation, false, {0, 0}, 1, {false, true, false});
    return Handle::Wrap(info.Env(), ToHwio(std::get<1>(grads)));
  })
}

void CheckSymmetric(const Geometry& g, const char* kernel) {
  if (!g.symmetric()) throw std::invalid_argument(std::string(kernel) + " with asymmetric padding is not supported natively");
}

// avgPool(x NHWC, [kh, kw], strides, pads, unusedDilations) -> y NHWC; tfjs averages over the valid cells only.
Napi::Value AvgPool(const Napi::CallbackInfo& info) {
  NATIVE_TRY("AvgPool", {
    at::Tensor x = ToNchw(Handle::Get(info[0]));
    std::vector<int64_t> k = IntList(info[1]);
    Geometry g = ReadGeometry(info, 2);
    CheckSymmetric(g, "AvgPool");
    at::Tensor y = at::avg_pool2d(x, k, g.stride, g.padding(), false, false, c10::nullopt);
    return Handle::Wrap(info.Env(), ToNhwc(y));
  })
}

// avgPoolGrad(dy NHWC, x NHWC, [kh, kw], strides, pads, unusedDilations) -> dx NHWC
Napi::Value AvgPoolGrad(const Napi::CallbackInfo& info) {
  NATIVE_TRY("AvgPoolGrad", {
    at::Tensor dy = ToNchw(Handle::Get(info[0]));
    at::Tensor x = ToNchw(Handle::Get(info[1]));
    std::vector<int64_t> k = IntList(info[2]);
    Geometry g = ReadGeometry(info, 3);
    CheckSymmetric(g, "AvgPoolGrad");
    at::Tensor dx = at::avg_pool2d_backward(dy, x, k, g.stride, g.padding(), false, false, c10::nullopt);
    return Handle::Wrap(info.Env(), ToNhwc(dx));
  })
}

// maxPool(x NHWC, [kh, kw], strides, pads, dilations) -> y NHWC
Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  NATIVE_TRY("MaxPool", {
    at::Tensor x = ToNchw(Handle::Get(info[0]));
    std::vector<int64_t> k = IntList(info[1]);
    Geometry g = ReadGeometry(info, 2);
    CheckSymmetric(g, "MaxPool");
    at::Tensor y = at::max_pool2d(x, k, g.stride, g.padding(), g.dilation, false);
    return Handle::Wrap(info.Env(), ToNhwc(y));
  })
}

// maxPoolGrad(dy NHWC, x NHWC, [kh, kw], strides, pads, dilations) -> dx NHWC
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  NATIVE_TRY("MaxPoolGrad", {
    at::Tensor dy = ToNchw(Handle::Get(info[0]));
    at::Tensor x = ToNchw(Handle::Get(info[1]));
    std::vector<int64_t> k = IntList(info[2]);
    Geometry g = ReadGeometry(info, 3);
    CheckSymmetric(g, "MaxPoolGrad");
    auto [y, indices] = at::max_pool2d_with_indices(x, k, g.stride, g.padding(), g.dilation, false);
    at::Tensor dx = at::max_pool2d_with_indices_backward(dy, x, k, g.stride, g.padding(), g.dilation, false, indices);
    return Handle::Wrap(info.Env(), ToNhwc(dx));
  })
}

}  // namespace

void InitConv(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2d", Napi::Function::New(env, Conv2d));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2dBackpropInput));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2dBackpropFilter));
  exports.Set("avgPool", Napi::Function::New(env, AvgPool));
  exports.Set("avgPoolGrad", Napi::Function::New(env, AvgPoolGrad));
  exports.Set("maxPool", Napi::Function::New(env, MaxPool));
  exports.Set("maxPoolGrad", Napi::Function::New(env, MaxPoolGrad));
}

}  // namespace native

// Element-wise kernels: binary ops with numpy broadcasting (as tfjs), unary ops, casts.
#include "handle.h"

#include <ATen/Parallel.h>

#include <functional>
#include <unordered_map>

namespace native {

namespace {

using Binary = std::function<at::Tensor(const at::Tensor&, const at::Tensor&)>;
using Unary = std::function<at::Tensor(const at::Tensor&, double, double)>;

/**
 * tfjs Step: 1 where x > 0, alpha elsewhere, NaN stays NaN. One pass over float32
 * (the ReLU gradient runs it on every activation; composed of where/isnan it took
 * four passes and a quarter of a training step).
 */
at::Tensor StepOf(const at::Tensor& xIn, double alpha) {
  if (xIn.scalar_type() != at::kFloat) {
    at::Tensor one = at::ones({}, xIn.options()), a = at::full({}, alpha, xIn.options());
    return at::where(at::isnan(xIn), xIn, at::where(xIn > 0, one, a));
  }
  at::Tensor x = xIn.contiguous();
  at::Tensor out = at::empty_like(x);
  const float* px = x.data_ptr<float>();
  float* po = out.data_ptr<float>();
  const float a = static_cast<float>(alpha);
  at::parallel_for(0, x.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) po[i] = px[i] > 0 ? 1.0f : (px[i] != px[i] ? px[i] : a);
  });
  return out;
}

const std::unordered_map<std::string, Binary>& BinaryOps() {
  static const std::unordered_map<std::string, Binary> ops = {
    {"Add", [](const at::Tensor& a, const at::Tensor& b) { return at::add(a, b); }},
    {"Sub", [](const at::Tensor& a, const at::Tensor& b) { return at::sub(a, b); }},
    {"Multiply", [](const at::Tensor& a, const at::Tensor& b) { return at::mul(a, b); }},
    {"RealDiv", [](const at::Tensor& a, const at::Tensor& b) { return at::div(a, b); }},
    {"FloorDiv", [](const at::Tensor& a, const at::Tensor& b) { return at::div(a, b, "floor"); }},
    {"Maximum", [](const at::Tensor& a, const at::Tensor& b) { return at::maximum(a, b); }},
    {"Minimum", [](const at::Tensor& a, const at::Tensor& b) { return at::minimum(a, b); }},
    {"Pow", [](const at::Tensor& a, const at::Tensor& b) { return at::pow(a, b); }},
    {"SquaredDifference", [](const at::Tensor& a, const at::Tensor& b) { at::Tensor d = at::sub(a, b); return at::mul(d, d); }},
    {"Equal", [](const at::Tensor& a, const at::Tensor& b) { return at::eq(a, b); }},
    {"NotEqual", [](const at::Tensor& a, const at::Tensor& b) { return at::ne(a, b); }},
    {"Greater", [](const at::Tensor& a, const at::Tensor& b) { return at::gt(a, b); }},
    {"GreaterEqual", [](const at::Tensor& a, const at::Tensor& b) { return at::ge(a, b); }},
    {"Less", [](const at::Tensor& a, const at::Tensor& b) { return at::lt(a, b); }},
    {"LessEqual", [](const at::Tensor& a, const at::Tensor& b) { return at::le(a, b); }},
    {"LogicalAnd", [](const at::Tensor& a, const at::Tensor& b) { return at::logical_and(a, b); }},
    {"LogicalOr", [](const at::Tensor& a, const at::Tensor& b) { return at::logical_or(a, b); }},
  };
  return ops;
}

const std::unordered_map<std::string, Unary>& UnaryOps() {
  static const std::unordered_map<std::string, Unary> ops = {
    {"Neg", [](const at::Tensor& x, double, double) { return at::neg(x); }},
    {"Abs", [](const at::Tensor& x, double, double) { return at::abs(x); }},
    {"Exp", [](const at::Tensor& x, double, double) { return at::exp(x); }},
    {"Log", [](const at::Tensor& x, double, double) { return at::log(x); }},
    {"Log1p", [](const at::Tensor& x, double, double) { return at::log1p(x); }},
    {"Sqrt", [](const at::Tensor& x, double, double) { return at::sqrt(x); }},
    {"Rsqrt", [](const at::Tensor& x, double, double) { return at::rsqrt(x); }},
    {"Square", [](const at::Tensor& x, double, double) { return at::mul(x, x); }},
    {"Reciprocal", [](const at::Tensor& x, double, double) { return at::reciprocal(x); }},
    {"Relu", [](const at::Tensor& x, double, double) { return at::relu(x); }},
    {"Relu6", [](const at::Tensor& x, double, double) { return at::clamp(x, 0, 6); }},
    {"Sigmoid", [](const at::Tensor& x, double, double) { return at::sigmoid(x); }},
    {"Tanh", [](const at::Tensor& x, double, double) { return at::tanh(x); }},
    {"Softplus", [](const at::Tensor& x, double, double) { return at::softplus(x); }},
    {"Sign", [](const at::Tensor& x, double, double) { return at::sign(x); }},
    {"Floor", [](const at::Tensor& x, double, double) { return at::floor(x); }},
    {"Ceil", [](const at::Tensor& x, double, double) { return at::ceil(x); }},
    {"Round", [](const at::Tensor& x, double, double) { return at::round(x); }},
    {"IsNan", [](const at::Tensor& x, double, double) { return at::isnan(x); }},
    {"LogicalNot", [](const at::Tensor& x, double, double) { return at::logical_not(x); }},
    {"LeakyRelu", [](const at::Tensor& x, double alpha, double) { return at::leaky_relu(x, alpha); }},
    {"Elu", [](const at::Tensor& x, double, double) { return at::elu(x); }},
    {"ClipByValue", [](const at::Tensor& x, double lo, double hi) { return at::clamp(x, lo, hi); }},
    // tfjs Step: 1 where x > 0, alpha elsewhere, NaN stays NaN.
    {"Step", [](const at::Tensor& x, double alpha, double) { return StepOf(x, alpha); }},
  };
  return ops;
}

// binary(op, a, b, outDtype)
Napi::Value BinaryKernel(const Napi::CallbackInfo& info) {
  std::string op = info[0].As<Napi::String>().Utf8Value();
  NATIVE_TRY(op, {
    auto it = BinaryOps().find(op);
    if (it == BinaryOps().end()) throw std::invalid_argument("no such binary op");
    at::Tensor out = it->second(Handle::Get(info[1]), Handle::Get(info[2]));
    at::ScalarType dtype = DtypeOf(info[3].As<Napi::String>().Utf8Value());
    if (out.scalar_type() != dtype) out = out.to(dtype);
    return Handle::Wrap(info.Env(), out.contiguous());
  })
}

// unary(op, x, outDtype, p0, p1)
Napi::Value UnaryKernel(const Napi::CallbackInfo& info) {
  std::string op = info[0].As<Napi::String>().Utf8Value();
  NATIVE_TRY(op, {
    auto it = UnaryOps().find(op);
    if (it == UnaryOps().end()) throw std::invalid_argument("no such unary op");
    double p0 = info.Length() > 3 ? info[3].As<Napi::Number>().DoubleValue() : 0;
    double p1 = info.Length() > 4 ? info[4].As<Napi::Number>().DoubleValue() : 0;
    at::Tensor out = it->second(Handle::Get(info[1]), p0, p1);
    at::ScalarType dtype = DtypeOf(info[2].As<Napi::String>().Utf8Value());
    if (out.scalar_type() != dtype) out = out.to(dtype);
    return Handle::Wrap(info.Env(), out.contiguous());
  })
}

// cast(x, dtype): float -> int truncates toward zero, as tfjs; anything -> bool is x != 0.
Napi::Value Cast(const Napi::CallbackInfo& info) {
  NATIVE_TRY("Cast", {
    at::Tensor x = Handle::Get(info[0]);
    at::ScalarType dtype = DtypeOf(info[1].As<Napi::String>().Utf8Value());
    return Handle::Wrap(info.Env(), dtype == at::kBool ? at::ne(x, 0) : x.to(dtype).contiguous());
  })
}

// addN([tensors]) -> their sum
Napi::Value AddN(const Napi::CallbackInfo& info) {
  NATIVE_TRY("AddN", {
    Napi::Array arr = info[0].As<Napi::Array>();
    at::Tensor sum = Handle::Get(arr.Get(0u)).clone();
    for (uint32_t i = 1; i < arr.Length(); i++) sum.add_(Handle::Get(arr.Get(i)));
    return Handle::Wrap(info.Env(), sum);
  })
}

// select(condition, a, b): a where condition, else b (condition may be rank 1 over the first axis, as tfjs).
Napi::Value Select(const Napi::CallbackInfo& info) {
  NATIVE_TRY("Select", {
    at::Tensor c = Handle::Get(info[0]).to(at::kBool);
    at::Tensor a = Handle::Get(info[1]), b = Handle::Get(info[2]);
    if (c.dim() == 1 && a.dim() > 1) {
      std::vector<int64_t> shape(a.dim(), 1);
      shape[0] = c.size(0);
      c = c.view(shape);
    }
    return Handle::Wrap(info.Env(), at::where(c, a, b).contiguous());
  })
}

// fusedBatchNorm(x, mean, variance, offset | null, scale | null, eps): inference-mode batch norm over the last axis.
Napi::Value FusedBatchNorm(const Napi::CallbackInfo& info) {
  NATIVE_TRY("FusedBatchNorm", {
    at::Tensor x = Handle::Get(info[0]);
    at::Tensor inv = at::rsqrt(at::add(Handle::Get(info[2]), info[5].As<Napi::Number>().DoubleValue()));
    if (!info[4].IsNull()) inv = at::mul(inv, Handle::Get(info[4]));
    at::Tensor y = at::mul(at::sub(x, Handle::Get(info[1])), inv);
    if (!info[3].IsNull()) y.add_(Handle::Get(info[3]));
    return Handle::Wrap(info.Env(), y.contiguous());
  })
}

}  // namespace

void InitElementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("binary", Napi::Function::New(env, BinaryKernel));
  exports.Set("unary", Napi::Function::New(env, UnaryKernel));
  exports.Set("cast", Napi::Function::New(env, Cast));
  exports.Set("addN", Napi::Function::New(env, AddN));
  exports.Set("select", Napi::Function::New(env, Select));
  exports.Set("fusedBatchNorm", Napi::Function::New(env, FusedBatchNorm));
}

}  // namespace native

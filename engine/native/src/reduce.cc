// Reductions over a set of axes (tfjs keeps the dtype: a sum of int32 is int32).
#include "handle.h"

namespace native {

namespace {

// reduce(op, x, axes, keepDims, outDtype)
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  std::string op = info[0].As<Napi::String>().Utf8Value();
  NATIVE_TRY(op, {
    at::Tensor x = Handle::Get(info[1]);
    std::vector<int64_t> axes = IntList(info[2]);
    bool keep = info[3].As<Napi::Boolean>().Value();
    at::ScalarType dtype = DtypeOf(info[4].As<Napi::String>().Utf8Value());
    at::Tensor out;
    if (axes.empty()) {
      out = x.clone();
    } else if (op == "Sum") {
      out = at::sum(x, axes, keep, dtype);
    } else if (op == "Mean") {
      out = at::mean(x.to(dtype), axes, keep);
    } else if (op == "Prod") {
      out = x;
      for (auto it = axes.rbegin(); it != axes.rend(); ++it) out = at::prod(out, *it, true);
      if (!keep) for (auto it = axes.rbegin(); it != axes.rend(); ++it) out = out.squeeze(*it);
    } else if (op == "Max") {
      out = at::amax(x, axes, keep);
    } else if (op == "Min") {
      out = at::amin(x, axes, keep);
    } else if (op == "All") {
      out = at::logical_not(at::amax(at::logical_not(x).to(at::kInt), axes, keep)).to(at::kBool);
    } else if (op == "Any") {
      out = at::amax(x.to(at::kInt), axes, keep).to(at::kBool);
    } else {
      throw std::invalid_argument("no such reduction");
    }
    if (out.scalar_type() != dtype) out = out.to(dtype);
    return Handle::Wrap(info.Env(), out.contiguous());
  })
}

// argReduce(op, x, axis) -> int32 indices (first occurrence of the extreme, as tfjs)
Napi::Value ArgReduce(const Napi::CallbackInfo& info) {
  std::string op = info[0].As<Napi::String>().Utf8Value();
  NATIVE_TRY(op, {
    at::Tensor x = Handle::Get(info[1]);
    int64_t axis = info[2].As<Napi::Number>().Int64Value();
    at::Tensor out = op == "ArgMax" ? at::argmax(x, axis) : at::argmin(x, axis);
    return Handle::Wrap(info.Env(), out.to(at::kInt).contiguous());
  })
}

}  // namespace

void InitReduce(Napi::Env env, Napi::Object exports) {
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("argReduce", Napi::Function::New(env, ArgReduce));
}

}  // namespace native

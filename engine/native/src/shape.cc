// Layout kernels: reshape (a view), transpose, slice, pad, concat, tile, fill, one-hot.
#include "handle.h"

namespace native {

namespace {

// reshape(x, shape): a view sharing x's storage.
Napi::Value Reshape(const Napi::CallbackInfo& info) {
  NATIVE_TRY("Reshape", {
    return Handle::Wrap(info.Env(), Handle::Get(info[0]).view(IntList(info[1])));
  })
}

Napi::Value Transpose(const Napi::CallbackInfo& info) {
  NATIVE_TRY("Transpose", {
    return Handle::Wrap(info.Env(), Handle::Get(info[0]).permute(IntList(info[1])).contiguous());
  })
}

// slice(x, begin, size)
Napi::Value Slice(const Napi::CallbackInfo& info) {
  NATIVE_TRY("Slice", {
    at::Tensor x = Handle::Get(info[0]);
    std::vector<int64_t> begin = IntList(info[1]), size = IntList(info[2]);
    for (size_t d = 0; d < begin.size(); d++) x = x.narrow(static_cast<int64_t>(d), begin[d], size[d]);
    return Handle::Wrap(info.Env(), x.contiguous());
  })
}

// stridedSlice(x, begin, end, strides) with every index already resolved (positive strides only).
Napi::Value StridedSlice(const Napi::CallbackInfo& info) {
  NATIVE_TRY("StridedSlice", {
    at::Tensor x = Handle::Get(info[0]);
    std::vector<int64_t> begin = IntList(info[1]), end = IntList(info[2]), strides = IntList(info[3]);
    for (size_t d = 0; d < begin.size(); d++) {
      if (strides[d] <= 0) throw std::invalid_argument("only positive strides are supported");
      x = x.slice(static_cast<int64_t>(d), begin[d], end[d], strides[d]);
    }
    return Handle::Wrap(info.Env(), x.contiguous());
  })
}

// pad(x, flatPaddings [before0, after0, before1, ...], value)
Napi::Value Pad(const Napi::CallbackInfo& info) {
  NATIVE_TRY("PadV2", {
    at::Tensor x = Handle::Get(info[0]);
    std::vector<int64_t> p = IntList(info[1]);
    double value = info[2].As<Napi::Number>().DoubleValue();
    // ATen lists pads from the last dimension backwards.
    std::vector<int64_t> rev;
    for (int64_t d = static_cast<int64_t>(p.size() / 2) - 1; d >= 0; d--) {
      rev.push_back(p[2 * d]);
      rev.push_back(p[2 * d + 1]);
    }
    return Handle::Wrap(info.Env(), at::constant_pad_nd(x, rev, value).contiguous());
  })
}

// concat([tensors], axis)
Napi::Value Concat(const Napi::CallbackInfo& info) {
  NATIVE_TRY("Concat", {
    Napi::Array arr = info[0].As<Napi::Array>();
    std::vector<at::Tensor> parts;
    for (uint32_t i = 0; i < arr.Length(); i++) parts.push_back(Handle::Get(arr.Get(i)));
    return Handle::Wrap(info.Env(), at::cat(parts, info[1].As<Napi::Number>().Int64Value()));
  })
}

Napi::Value Tile(const Napi::CallbackInfo& info) {
  NATIVE_TRY("Tile", {
    return Handle::Wrap(info.Env(), Handle::Get(info[0]).repeat(IntList(info[1])));
  })
}

// fill(shape, value, dtype)
Napi::Value Fill(const Napi::CallbackInfo& info) {
  NATIVE_TRY("Fill", {
    std::vector<int64_t> shape = IntList(info[0]);
    double value = info[1].As<Napi::Number>().DoubleValue();
    at::ScalarType dtype = DtypeOf(info[2].As<Napi::String>().Utf8Value());
    return Handle::Wrap(info.Env(), at::full(shape, value, at::TensorOptions().dtype(dtype)));
  })
}

// oneHot(indices, depth, on, off, dtype): out-of-range indices give a row of `off`, as tfjs.
Napi::Value OneHot(const Napi::CallbackInfo& info) {
  NATIVE_TRY("OneHot", {
    at::Tensor idx = Handle::Get(info[0]).to(at::kLong);
    int64_t depth = info[1].As<Napi::Number>().Int64Value();
    double on = info[2].As<Napi::Number>().DoubleValue(), off = info[3].As<Napi::Number>().DoubleValue();
    at::ScalarType dtype = DtypeOf(info[4].As<Napi::String>().Utf8Value());
    at::Tensor classes = at::arange(depth, at::TensorOptions().dtype(at::kLong));
    at::Tensor hit = at::eq(idx.unsqueeze(-1), classes);
    at::Tensor out = at::where(hit, at::full({}, on, at::TensorOptions().dtype(dtype)), at::full({}, off, at::TensorOptions().dtype(dtype)));
    return Handle::Wrap(info.Env(), out.contiguous());
  })
}

// gather(x, indices, axis, batchDims = 0)
Napi::Value Gather(const Napi::CallbackInfo& info) {
  NATIVE_TRY("GatherV2", {
    at::Tensor x = Handle::Get(info[0]);
    at::Tensor idx = Handle::Get(info[1]).to(at::kLong);
    int64_t axis = info[2].As<Napi::Number>().Int64Value();
    at::Tensor flat = at::index_select(x, axis, idx.reshape({-1}));
    std::vector<int64_t> shape(x.sizes().begin(), x.sizes().begin() + axis);
    for (int64_t s : idx.sizes()) shape.push_back(s);
    for (int64_t d = axis + 1; d < x.dim(); d++) shape.push_back(x.size(d));
    return Handle::Wrap(info.Env(), flat.reshape(shape).contiguous());
  })
}

// unsortedSegmentSum(x, segmentIds, numSegments): ids outside [0, numSegments) are dropped, as TensorFlow.
Napi::Value UnsortedSegmentSum(const Napi::CallbackInfo& info) {
  NATIVE_TRY("UnsortedSegmentSum", {
    at::Tensor x = Handle::Get(info[0]);
    at::Tensor ids = Handle::Get(info[1]).to(at::kLong).reshape({-1});
    int64_t n = info[2].As<Napi::Number>().Int64Value();
    std::vector<int64_t> inner(x.sizes().begin() + Handle::Get(info[1]).dim(), x.sizes().end());
    std::vector<int64_t> rows = {ids.size(0)};
    rows.insert(rows.end(), inner.begin(), inner.end());
    at::Tensor values = x.reshape(rows);
    at::Tensor valid = at::logical_and(ids >= 0, ids < n);
    std::vector<int64_t> outShape = {n};
    outShape.insert(outShape.end(), inner.begin(), inner.end());
    at::Tensor out = at::zeros(outShape, x.options());
    out.index_add_(0, ids.masked_select(valid), values.index({valid}));
    return Handle::Wrap(info.Env(), out);
  })
}

}  // namespace

void InitShape(Napi::Env env, Napi::Object exports) {
  exports.Set("reshape", Napi::Function::New(env, Reshape));
  exports.Set("transpose", Napi::Function::New(env, Transpose));
  exports.Set("slice", Napi::Function::New(env, Slice));
  exports.Set("stridedSlice", Napi::Function::New(env, StridedSlice));
  exports.Set("pad", Napi::Function::New(env, Pad));
  exports.Set("concat", Napi::Function::New(env, Concat));
  exports.Set("tile", Napi::Function::New(env, Tile));
  exports.Set("fill", Napi::Function::New(env, Fill));
  exports.Set("oneHot", Napi::Function::New(env, OneHot));
  exports.Set("gather", Napi::Function::New(env, Gather));
  exports.Set("unsortedSegmentSum", Napi::Function::New(env, UnsortedSegmentSum));
}

}  // namespace native

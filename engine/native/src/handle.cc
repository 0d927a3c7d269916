// Tensor handles, data transfer to and from JavaScript, memory accounting, threads.
#include "handle.h"

#include <cstring>
#include <unordered_map>

#include <ATen/Parallel.h>

namespace native {

namespace {
std::vector<at::Tensor> slots;
std::vector<uint32_t> free_slots;
// Views share storage: count each storage's bytes once, while any handle refers to it.
std::unordered_map<const void*, std::pair<int64_t, int64_t>> storages;  // storage -> (handles, bytes)
int64_t live_bytes = 0;
int64_t live_handles = 0;

const void* StorageKey(const at::Tensor& t) { return t.storage().unsafeGetStorageImpl(); }

uint32_t SlotOf(const Napi::Value& v) {
  if (!v.IsNumber()) throw std::invalid_argument("expected a native tensor handle");
  uint32_t id = v.As<Napi::Number>().Uint32Value();
  if (id >= slots.size() || !slots[id].defined()) throw std::invalid_argument("native tensor used after it was disposed");
  return id;
}

void Release(uint32_t id) {
  at::Tensor& t = slots[id];
  auto it = storages.find(StorageKey(t));
  if (it != storages.end() && --it->second.first == 0) {
    live_bytes -= it->second.second;
    storages.erase(it);
  }
  live_handles--;
  t = at::Tensor();
  free_slots.push_back(id);
}
}  // namespace

int64_t LiveBytes() { return live_bytes; }
int64_t LiveHandles() { return live_handles; }

Napi::Value Handle::Wrap(Napi::Env env, at::Tensor t) {
  auto& entry = storages[StorageKey(t)];
  if (entry.first++ == 0) {
    entry.second = static_cast<int64_t>(t.storage().nbytes());
    live_bytes += entry.second;
  }
  live_handles++;
  uint32_t id;
  if (free_slots.empty()) {
    id = static_cast<uint32_t>(slots.size());
    slots.push_back(std::move(t));
  } else {
    id = free_slots.back();
    free_slots.pop_back();
    slots[id] = std::move(t);
  }
  return Napi::Number::New(env, id);
}

at::Tensor& Handle::Get(const Napi::Value& v) { return slots[SlotOf(v)]; }

at::ScalarType DtypeOf(const std::string& name) {
  if (name == "float32") return at::kFloat;
  if (name == "int32") return at::kInt;
  if (name == "bool") return at::kBool;
  throw std::invalid_argument("dtype " + name + " is not supported by the native backend");
}

std::string DtypeName(at::ScalarType t) {
  if (t == at::kFloat) return "float32";
  if (t == at::kInt) return "int32";
  if (t == at::kBool) return "bool";
  return c10::toString(t);
}

std::vector<int64_t> IntList(const Napi::Value& v) {
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out[i] = a.Get(i).As<Napi::Number>().Int64Value();
  return out;
}

namespace {

// write(typedArray, shape, dtype): copies the values into a new native tensor.
Napi::Value Write(const Napi::CallbackInfo& info) {
  NATIVE_TRY("write", {
    Napi::TypedArray arr = info[0].As<Napi::TypedArray>();
    std::vector<int64_t> shape = IntList(info[1]);
    at::ScalarType dtype = DtypeOf(info[2].As<Napi::String>().Utf8Value());
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    size_t bytes = t.numel() * t.element_size();
    if (arr.ByteLength() != bytes) throw std::invalid_argument("write: " + std::to_string(arr.ByteLength()) + " bytes for a tensor of " + std::to_string(bytes));
    uint8_t* src = static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
    if (bytes > 0) std::memcpy(t.data_ptr(), src, bytes);
    return Handle::Wrap(info.Env(), t);
  })
}

// read(handle): copies the values out into a new ArrayBuffer (the JS side picks the typed array).
Napi::Value Read(const Napi::CallbackInfo& info) {
  NATIVE_TRY("read", {
    at::Tensor t = Handle::Get(info[0]).contiguous();
    size_t bytes = t.numel() * t.element_size();
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(info.Env(), bytes);
    if (bytes > 0) std::memcpy(buf.Data(), t.data_ptr(), bytes);
    return buf;
  })
}

Napi::Value Shape(const Napi::CallbackInfo& info) {
  NATIVE_TRY("shape", {
    const at::Tensor& t = Handle::Get(info[0]);
    Napi::Array out = Napi::Array::New(info.Env(), t.dim());
    for (int64_t i = 0; i < t.dim(); i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(t.size(i))));
    return out;
  })
}

Napi::Value Dispose(const Napi::CallbackInfo& info) {
  NATIVE_TRY("dispose", {
    Release(SlotOf(info[0]));
    return info.Env().Undefined();
  })
}

Napi::Value Memory(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("bytes", Napi::Number::New(info.Env(), static_cast<double>(live_bytes)));
  o.Set("handles", Napi::Number::New(info.Env(), static_cast<double>(live_handles)));
  o.Set("cached", Napi::Number::New(info.Env(), static_cast<double>(CachedBytes())));
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  NATIVE_TRY("setThreads", {
    at::set_num_threads(info[0].As<Napi::Number>().Int32Value());
    return info.Env().Undefined();
  })
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

}  // namespace

void InitHandle(Napi::Env env, Napi::Object exports) {
  InstallCachingAllocator();
  exports.Set("shape", Napi::Function::New(env, Shape));
  exports.Set("dispose", Napi::Function::New(env, Dispose));
  exports.Set("write", Napi::Function::New(env, Write));
  exports.Set("read", Napi::Function::New(env, Read));
  exports.Set("memory", Napi::Function::New(env, Memory));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads));
}

}  // namespace native

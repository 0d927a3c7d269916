// A native tensor owned by the tfjs backend: one per tfjs dataId.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <string>
#include <vector>

namespace native {

/**
 * Native tensors are kept in a slot table and JavaScript holds slot numbers: freeing is
 * explicit (tfjs disposeData -> dispose(id)) and never waits for the JS garbage
 * collector, whose finalizers only run between macrotasks (a training loop of awaited
 * microtasks would pile them up).
 */
struct Handle {
  static Napi::Value Wrap(Napi::Env env, at::Tensor t);
  static at::Tensor& Get(const Napi::Value& v);
};

/** Bytes of native storage currently referenced by live handles (each storage counted once). */
int64_t LiveBytes();
int64_t LiveHandles();

at::ScalarType DtypeOf(const std::string& name);
std::vector<int64_t> IntList(const Napi::Value& v);
std::string DtypeName(at::ScalarType t);

/** Turns a C++ exception into a JS error naming the kernel. */
#define NATIVE_TRY(name, ...)                                              \
  try {                                                                     \
    __VA_ARGS__                                                             \
  } catch (const std::exception& e) {                                       \
    Napi::Error::New(info.Env(), std::string("native ") + name + ": " + e.what()).ThrowAsJavaScriptException(); \
    return info.Env().Undefined();                                          \
  }

/** Makes ATen's CPU tensors come from a cache of freed buffers (see allocator.cc). */
void InstallCachingAllocator();
int64_t CachedBytes();

void InitHandle(Napi::Env env, Napi::Object exports);
void InitConv(Napi::Env env, Napi::Object exports);
void InitElementwise(Napi::Env env, Napi::Object exports);
void InitReduce(Napi::Env env, Napi::Object exports);
void InitShape(Napi::Env env, Napi::Object exports);
void InitMatmul(Napi::Env env, Napi::Object exports);
void InitBatchNorm(Napi::Env env, Napi::Object exports);
void InitOptim(Napi::Env env, Napi::Object exports);

}  // namespace native

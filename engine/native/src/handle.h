// A native tensor owned by the tfjs backend: one per tfjs dataId.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <string>
#include <vector>

namespace native {

/** Wraps an at::Tensor for JavaScript. Freed explicitly by dispose() (tfjs disposeData); GC only collects the empty shell. */
class Handle : public Napi::ObjectWrap<Handle> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, at::Tensor t);
  static at::Tensor& Get(const Napi::Value& v);

  explicit Handle(const Napi::CallbackInfo& info);
  ~Handle() override;

 private:
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  void Release();

  at::Tensor tensor_;
  bool live_ = false;
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

void InitHandle(Napi::Env env, Napi::Object exports);
void InitConv(Napi::Env env, Napi::Object exports);
void InitElementwise(Napi::Env env, Napi::Object exports);
void InitReduce(Napi::Env env, Napi::Object exports);
void InitShape(Napi::Env env, Napi::Object exports);
void InitMatmul(Napi::Env env, Napi::Object exports);

}  // namespace native

// The C ABI's error channel: a thread-local last-error string, and guard() which runs a body, catches everything
// and turns it into a status code, so no C++ exception ever crosses the extern "C" boundary.
#pragma once

#include <string>
#include <type_traits>

namespace pn {

void set_last_error(const std::string& message);
const char* last_error();

int guard_status(void (*body)(void*), void* ctx, const char* where);

// Runs f() and returns 0, or records the exception (prefixed by `where`) and returns 1.
template <typename F>
int guard(const char* where, F&& f) {
  using Body = std::remove_reference_t<F>;
  return guard_status([](void* c) { (*static_cast<Body*>(c))(); }, const_cast<void*>(static_cast<const void*>(&f)), where);
}

}  // namespace pn

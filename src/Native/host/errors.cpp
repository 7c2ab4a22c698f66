#include "errors.h"

#include <c10/util/Exception.h>

#include <exception>

namespace pn {
namespace {
thread_local std::string t_last_error;
}

void set_last_error(const std::string& message) { t_last_error = message; }
const char* last_error() { return t_last_error.c_str(); }

int guard_status(void (*body)(void*), void* ctx, const char* where) {
  try {
    body(ctx);
    return 0;
  } catch (const c10::Error& e) {
    set_last_error(std::string(where) + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    set_last_error(std::string(where) + ": " + e.what());
  } catch (...) {
    set_last_error(std::string(where) + ": unknown C++ exception");
  }
  return 1;
}

}  // namespace pn

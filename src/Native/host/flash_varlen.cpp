// Calls aten::_flash_attention_forward through the dispatcher, filling its arguments by name from the schema, so
// arguments that newer PyTorch versions add (with defaults) need no change here.
#include "flash_varlen.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/ivalue.h>
#include <c10/util/Exception.h>

#include <vector>

namespace pn {

at::Tensor flash_varlen_forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                const at::Tensor& cu_seqlens_q, const at::Tensor& cu_seqlens_k, int64_t max_q,
                                int64_t max_k, double scale, int64_t window) {
  static const c10::OperatorHandle op =
      c10::Dispatcher::singleton().findSchemaOrThrow("aten::_flash_attention_forward", "");
  std::vector<c10::IValue> stack;
  for (const auto& arg : op.schema().arguments()) {
    const std::string& n = arg.name();
    if (n == "query") stack.emplace_back(q);
    else if (n == "key") stack.emplace_back(k);
    else if (n == "value") stack.emplace_back(v);
    else if (n == "cum_seq_q") stack.emplace_back(cu_seqlens_q);
    else if (n == "cum_seq_k") stack.emplace_back(cu_seqlens_k);
    else if (n == "max_q") stack.emplace_back(max_q);
    else if (n == "max_k") stack.emplace_back(max_k);
    else if (n == "dropout_p") stack.emplace_back(0.0);
    else if (n == "is_causal") stack.emplace_back(true);
    else if (n == "return_debug_mask") stack.emplace_back(false);
    else if (n == "scale") stack.emplace_back(scale);
    else if (n == "window_size_left") stack.push_back(window > 0 ? c10::IValue(window - 1) : c10::IValue());
    else if (n == "window_size_right") stack.push_back(window > 0 ? c10::IValue(int64_t{0}) : c10::IValue());
    else if (arg.default_value().has_value()) stack.push_back(*arg.default_value());
    else TORCH_CHECK(false, "pipeline_native: aten::_flash_attention_forward has an unknown required argument '", n, "'");
  }
  op.callBoxed(&stack);
  TORCH_CHECK(!stack.empty() && stack[0].isTensor(), "pipeline_native: flash attention returned no tensor");
  return stack[0].toTensor();
}

}  // namespace pn

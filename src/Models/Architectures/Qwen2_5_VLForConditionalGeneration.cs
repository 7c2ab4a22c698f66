using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Qwen2.5-VL: Qwen2-VL with Qwen2.5-VL's vision tower (window attention except in fullatt_block_indexes, RMSNorm,
/// gated SiLU MLP, RMSNorm in the merger); the decoder and its M-RoPE positions are Qwen2-VL's.
/// </summary>
public sealed class Qwen2_5_VLForConditionalGeneration(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : Qwen2VLForConditionalGeneration(config, weights, dtype, device, qwen25: true);

using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// DeepSeek-V3: V2's model (MLA, shared experts) with its q LoRA where q_lora_rank is set, and a sigmoid router
/// whose e_score_correction_bias steers a grouped top-k (best two experts per group, n_group / topk_group), the
/// weights renormalised with norm_topk_prob and multiplied by routed_scaling_factor.
/// </summary>
public sealed class DeepseekV3ForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DeepseekV2ForCausalLM(config, weights, dtype, device)
{
    protected override DeepseekMoeOptions MoeOptions(ModelConfig c) => DeepseekMoeOptions.From(c, defaultScoring: "sigmoid", defaultTopkMethod: "noaux_tc");
}

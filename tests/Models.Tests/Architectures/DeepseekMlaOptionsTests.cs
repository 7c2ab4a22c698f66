using System.Text.Json.Nodes;
using Pipeline.Models.Architectures;
using Pipeline.Models.Config;

namespace Pipeline.Models.Tests.Architectures;

/// <summary>
/// DeepSeek's softmax scale: 1/sqrt(qk_nope_head_dim + qk_rope_head_dim), times mscale(factor, mscale_all_dim)² under
/// YaRN (vLLM's DeepseekV2Attention). Expected values worked out by hand for DeepSeek-V2-Lite's published config.
/// </summary>
public class DeepseekMlaOptionsTests
{
    // DeepSeek-V2-Lite's config.json fields that matter here (parsed, as config.json is).
    static ModelConfig V2Lite(string ropeScaling) => ModelConfig.FromJson((JsonObject)JsonNode.Parse($$"""
        {"architectures": ["DeepseekV2ForCausalLM"], "hidden_size": 2048, "num_attention_heads": 16, "num_hidden_layers": 27,
         "vocab_size": 102400, "kv_lora_rank": 512, "q_lora_rank": null, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64,
         "v_head_dim": 128, "max_position_embeddings": 163840, "rope_theta": 10000, "rope_scaling": {{ropeScaling}}}
        """)!);

    [Fact]
    public void YarnScalesTheSoftmaxByMscaleAllDimSquared()
    {
        var o = DeepseekMlaOptions.From(V2Lite("""
            {"type": "yarn", "factor": 40, "mscale": 0.707, "mscale_all_dim": 0.707,
             "original_max_position_embeddings": 4096, "beta_fast": 32, "beta_slow": 1}
            """));
        // (1/sqrt(192)) * (0.1 * 0.707 * ln 40 + 1)^2
        Assert.Equal(0.11472138679292611, o.SoftmaxScale, 12);
        Assert.Null(o.QLoraRank);
        Assert.Equal(new Pipeline.Models.Layers.MlaDims(512, 128, 64, 128), o.Dims);
    }

    [Fact]
    public void WithoutRopeScalingTheScaleIsOneOverSqrtQkHeadDim() =>
        Assert.Equal(0.07216878364870322, DeepseekMlaOptions.From(V2Lite("null")).SoftmaxScale, 12);
}

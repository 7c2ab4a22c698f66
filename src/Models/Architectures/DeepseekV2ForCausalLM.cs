using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// DeepSeek-V2 (and, through <see cref="DeepseekV3ForCausalLM"/>, V3): multi-head latent attention, whose KV cache
/// holds the normed latent and the rotated key part per token, and a mixture of experts from layer
/// first_k_dense_replace on (every moe_layer_freq-th layer) with shared experts and DeepSeek's grouped top-k router.
/// The rotary part of q and k turns adjacent pairs (transformers' complex rotation; V3's rope_interleave) over
/// qk_rope_head_dim dims; with YaRN the softmax scale is multiplied by mscale(factor, mscale_all_dim)², as vLLM does.
/// </summary>
public class DeepseekV2ForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device), ISkipsWeights
{
    DeepseekMoeOptions? _moe;
    DeepseekMlaOptions? _mla;

    // Read on first use: the base constructor builds the layers before this class's own constructor body runs.
    protected DeepseekMoeOptions Moe => _moe ??= MoeOptions(Config);
    DeepseekMlaOptions MlaOptions => _mla ??= DeepseekMlaOptions.From(Config);

    /// <summary>The router's config; V2 scores by softmax and picks greedily unless config.json says otherwise.</summary>
    protected virtual DeepseekMoeOptions MoeOptions(ModelConfig c) => DeepseekMoeOptions.From(c, defaultScoring: "softmax", defaultTopkMethod: "greedy");

    /// <summary>
    /// The multi-token-prediction layers V3 checkpoints keep after the last layer (num_nextn_predict_layers of them,
    /// `model.layers.{num_hidden_layers + i}.`): a speculative-decoding head this model does not run, as vLLM skips them.
    /// </summary>
    public IReadOnlyList<string> SkipPrefixes => Enumerable.Range(Config.NumHiddenLayers, Config.IntField("num_nextn_predict_layers") ?? 0)
        .Select(Names.LayerPrefix).ToArray();

    protected override RotaryEmbedding? CreateRotary(ModelConfig config, Device device) =>
        new(config, device, interleaved: MlaOptions.RopeInterleave, rotaryDim: MlaOptions.Dims.QkRopeHeadDim);

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        IFeedForward mlp = Moe.IsSparse(index) ? MoeBlock(prefix, w) : LlamaMlp(prefix, w, c.HiddenAct, c.MlpBias);
        return new DecoderLayer(Norm(w, prefix + "input_layernorm.weight", c.HiddenSize), SelfAttention(index, prefix, w),
            Norm(w, prefix + "post_attention_layernorm.weight", c.HiddenSize), mlp);
    }

    /// <summary>The attention of layer <paramref name="index"/>: MLA here; Dots1 puts Qwen3's attention in its place.</summary>
    protected virtual ISelfAttention SelfAttention(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        var o = MlaOptions;
        var d = o.Dims;
        int H = c.NumAttentionHeads;
        long h = c.HiddenSize;
        bool bias = c.AttentionBias;
        string p = prefix + "self_attn.";
        // transformers builds q_a_layernorm and kv_a_layernorm with its RMSNorm's default eps, 1e-6.
        const double latentNormEps = 1e-6;
        return new MultiHeadLatentAttention(
            o.QLoraRank is null ? w.Linear(p + "q_proj", H * d.QkHeadDim, h) : null,
            o.QLoraRank is int r ? (w.Linear(p + "q_a_proj", r, h, bias), w.RmsNorm(p + "q_a_layernorm.weight", r, latentNormEps), w.Linear(p + "q_b_proj", H * d.QkHeadDim, r)) : null,
            w.Linear(p + "kv_a_proj_with_mqa", d.KvLoraRank + d.QkRopeHeadDim, h, bias),
            w.RmsNorm(p + "kv_a_layernorm.weight", d.KvLoraRank, latentNormEps),
            w.Linear(p + "kv_b_proj", H * (d.QkNopeHeadDim + d.VHeadDim), d.KvLoraRank),
            w.Linear(p + "o_proj", h, H * d.VHeadDim, bias),
            new Layers.Attention(index, H, 1, d.KvLoraRank + d.QkRopeHeadDim, o.SoftmaxScale, mla: d));
    }

    /// <summary>
    /// `mlp.` (vLLM's DeepseekV2MoE): router `gate` (with `gate.e_score_correction_bias` for noaux_tc), routed `experts`,
    /// and `shared_experts` added unscaled.
    /// </summary>
    protected IFeedForward MoeBlock(string prefix, ModelWeights w)
    {
        var c = Config;
        var o = Moe;
        string p = prefix + "mlp.";
        var router = new GroupedTopKRouter(w.Linear(p + "gate", o.NumRoutedExperts, c.HiddenSize), o.TopK, o.Scoring, o.NormTopkProb,
            o.Grouped ? o.NumGroups : 1, o.Grouped ? o.TopKGroups : 1, o.RoutedScalingFactor,
            o.CorrectionBias ? w.Load(p + "gate.e_score_correction_bias", [o.NumRoutedExperts], WeightInit.Zeros) : null);
        var experts = w.Experts(p + "experts.", o.NumRoutedExperts, o.MoeIntermediateSize, c.HiddenSize, ("gate_proj", "up_proj", "down_proj"),
            Activations.Get(c.HiddenAct));
        var shared = o.NumSharedExperts > 0
            ? LlamaMlp(prefix, w, c.HiddenAct, intermediateSize: o.MoeIntermediateSize * o.NumSharedExperts, module: "mlp.shared_experts.")
            : null;
        return new RoutedMoeBlock(router, experts, shared);
    }
}

/// <summary>The MLA fields of a DeepSeek config.json, and the softmax scale they give.</summary>
public sealed record DeepseekMlaOptions(int? QLoraRank, MlaDims Dims, bool RopeInterleave, double SoftmaxScale)
{
    public static DeepseekMlaOptions From(ModelConfig c)
    {
        var dims = new MlaDims(c.RequiredIntField("kv_lora_rank"), c.RequiredIntField("qk_nope_head_dim"),
            c.RequiredIntField("qk_rope_head_dim"), c.RequiredIntField("v_head_dim"));
        double scale = 1.0 / Math.Sqrt(dims.QkHeadDim);
        // vLLM (and transformers' V3): with rope scaling, the softmax scale grows by mscale(factor, mscale_all_dim)².
        if (c.Rope.RopeType != "default" && c.Rope.HasFactor)
        {
            double m = YarnMScale(c.Rope.Factor, c.Rope.MScaleAllDim ?? 0);
            scale *= m * m;
        }
        return new DeepseekMlaOptions(c.IntField("q_lora_rank"), dims, c.BoolField("rope_interleave") ?? true, scale);
    }

    static double YarnMScale(double factor, double mscale) => factor <= 1 ? 1.0 : 0.1 * mscale * Math.Log(factor) + 1.0;
}

/// <summary>The MoE fields of a DeepSeek-style config.json (DeepSeek-V2/V3, Dots1), read once.</summary>
public sealed record DeepseekMoeOptions(int FirstKDenseReplace, int MoeLayerFreq, int NumRoutedExperts, int NumSharedExperts,
    int MoeIntermediateSize, int TopK, MoeScoring Scoring, bool CorrectionBias, bool Grouped, int NumGroups, int TopKGroups,
    double RoutedScalingFactor, bool NormTopkProb)
{
    /// <summary>Whether layer <paramref name="index"/> has experts (vLLM's and transformers' rule).</summary>
    public bool IsSparse(int index) => NumRoutedExperts > 0 && index >= FirstKDenseReplace && index % MoeLayerFreq == 0;

    /// <param name="defaultScoring">scoring_func when config.json has none (transformers' V3 and Dots1 configs drop it: sigmoid).</param>
    /// <param name="defaultTopkMethod">topk_method when config.json has none (V3, Dots1: noaux_tc, with the correction bias).</param>
    public static DeepseekMoeOptions From(ModelConfig c, string defaultScoring, string defaultTopkMethod)
    {
        string scoring = c.StringField("scoring_func") ?? defaultScoring;
        string method = c.StringField("topk_method") ?? defaultTopkMethod;
        if (method is not ("greedy" or "group_limited_greedy" or "noaux_tc"))
            throw new ModelConfigException($"config.json: topk_method '{method}' is not supported (greedy, group_limited_greedy, noaux_tc)");
        return new DeepseekMoeOptions(
            FirstKDenseReplace: c.IntField("first_k_dense_replace") ?? 0,
            MoeLayerFreq: Math.Max(1, c.IntField("moe_layer_freq") ?? 1),
            NumRoutedExperts: c.IntField("n_routed_experts") ?? 0,
            NumSharedExperts: c.IntField("n_shared_experts") ?? 0,
            MoeIntermediateSize: c.IntField("moe_intermediate_size") ?? c.IntermediateSize,
            TopK: c.IntField("num_experts_per_tok") ?? 1,
            Scoring: scoring switch
            {
                "softmax" => MoeScoring.Softmax,
                "sigmoid" => MoeScoring.Sigmoid,
                _ => throw new ModelConfigException($"config.json: scoring_func '{scoring}' is not supported (softmax, sigmoid)"),
            },
            CorrectionBias: method == "noaux_tc",
            Grouped: method != "greedy",
            NumGroups: c.IntField("n_group") ?? 1,
            TopKGroups: c.IntField("topk_group") ?? 1,
            RoutedScalingFactor: c.DoubleField("routed_scaling_factor") ?? 1.0,
            NormTopkProb: c.BoolField("norm_topk_prob") ?? false);
    }
}

using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>NemotronH's layer kinds (layers_block_type, or hybrid_override_pattern M/*/-/E) and Mamba 2 sizes.</summary>
public sealed record NemotronHOptions(string[] BlockTypes, Mamba2Options Mamba, double NormEps, string MlpAct)
{
    public static NemotronHOptions From(ModelConfig c)
    {
        string[] types = c.Field("layers_block_type") is System.Text.Json.Nodes.JsonArray a
            ? a.Select(x => x!.GetValue<string>()).ToArray()
            : (c.StringField("hybrid_override_pattern") ?? throw new ModelConfigException("NemotronH needs layers_block_type or hybrid_override_pattern in config.json"))
                .Select(ch => ch switch
                {
                    'M' => "mamba",
                    '*' => "attention",
                    '-' => "mlp",
                    'E' => "moe",
                    _ => throw new ModelConfigException($"hybrid_override_pattern has '{ch}': expected M, *, - or E"),
                }).ToArray();
        double eps = c.DoubleField("layer_norm_epsilon") ?? 1e-5;
        var mamba = new Mamba2Options(
            new Mamba2Dims(c.RequiredIntField("mamba_num_heads"), c.IntField("mamba_head_dim") ?? 64, c.IntField("n_groups") ?? 1,
                c.IntField("ssm_state_size") ?? 128, c.IntField("conv_kernel") ?? 4),
            c.BoolField("use_bias") ?? false, c.BoolField("use_conv_bias") ?? true, eps, Mamba2Options.ReadDtLimit(c));
        return new(types, mamba, eps, c.StringField("mlp_hidden_act") ?? "relu2");
    }

    public string Kind(int layer) => BlockTypes[layer] switch
    {
        "mamba" or "linear_attention" => "mamba",
        "attention" or "full_attention" => "attention",
        var t => t,
    };

    public int Rank(int layer) => Enumerable.Range(0, layer).Count(i => Kind(i) == Kind(layer));
}

/// <summary>
/// NemotronH: each layer is x + mixer(RMSNorm(x)) with one mixer per layer, by layers_block_type: Mamba 2 (gated RMSNorm
/// in groups), attention without positions, or an ungated ReLU² MLP; weights under `backbone.`. Norms use
/// layer_norm_epsilon. Expert ("moe") layers are not supported yet.
/// </summary>
public sealed class NemotronHForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device, MambaForCausalLM.Backbone)
{
    protected override RotaryEmbedding? CreateRotary(ModelConfig config, Device device) => null;

    protected override RmsNorm Norm(ModelWeights w, string name, long size) => w.RmsNorm(name, size, NemotronHOptions.From(Config).NormEps);

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var o = NemotronHOptions.From(Config);
        long h = Config.HiddenSize;
        var norm = Norm(w, prefix + "norm.weight", h);
        string p = prefix + "mixer.";
        switch (o.Kind(index))
        {
            case "mamba":
                return new MambaDecoderLayer(norm, o.Mamba.Load(w, p, o.Rank(index), h, normGroupSize: o.Mamba.Dims.Inner / o.Mamba.Dims.NumGroups));
            case "attention":
                int nh = Config.NumAttentionHeads, kv = Config.NumKeyValueHeads, hd = Config.HeadDim;
                var attn = new SelfAttention(
                    w.Packed(p, Packed, "qkv_proj", [nh * hd, kv * hd, kv * hd], h, Config.AttentionBias),
                    w.Linear(p + "o_proj", h, nh * hd, Config.AttentionBias),
                    new Layers.Attention(o.Rank(index), nh, kv, hd, 1.0 / Math.Sqrt(hd)));
                return new Block(norm, attn, null);
            case "mlp":
                return new Block(norm, null, new Mlp(w.Linear(p + "up_proj", Config.IntermediateSize, h, Config.MlpBias),
                    w.Linear(p + "down_proj", h, Config.IntermediateSize, Config.MlpBias), Activations.Get(o.MlpAct)));
            default:
                throw new NotSupportedException($"NemotronH layer {index} is a '{o.BlockTypes[index]}' block, which is not supported yet");
        }
    }

    /// <summary>x + attn(norm(x)) or x + mlp(norm(x)): one mixer, one residual.</summary>
    sealed class Block(INorm norm, SelfAttention? attn, IFeedForward? mlp) : IDecoderLayer
    {
        public Layers.Attention? Attn => attn?.Attn;

        public Tensor Forward(Tensor x, RotaryCosSin rope, ForwardContext ctx)
        {
            using var scope = NewDisposeScope();
            var h = norm.Forward(x);
            var y = attn != null ? attn.Forward(h, rope, ctx) : mlp!.Forward(h);
            x.add_(y);
            return x;
        }

        public void Dispose()
        {
            norm.Dispose();
            attn?.Dispose();
            mlp?.Dispose();
        }
    }
}

using System.Text.Json.Nodes;
using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// DBRX: pre-norm blocks under `transformer.blocks.{i}.` with LayerNorms without bias (eps 1e-5), a fused `Wqkv`
/// clamped to ±attn_config.clip_qkv, and experts on every layer. The experts are stored as three flat tensors
/// `ffn.experts.mlp.w1` / `v1` / `w2`, each [E x I, H] (w2 is the transpose of a down projection), rearranged at load
/// into FusedMoe's stacked w13 [E, 2I, H] and w2 [E, H, I]; the router `ffn.router.layer` takes softmax top-k divided by
/// the L_p norm (p = ffn_config.moe_normalize_expert_weights). Heads, KV heads, expert sizes and the rotary base come
/// from attn_config / ffn_config.
/// </summary>
public sealed class DbrxForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(WithAttnConfig(config), weights, dtype, device,
        new WeightNames("transformer.wte.weight", "transformer.blocks.{0}.", "transformer.norm_f.weight", "lm_head.weight"))
{
    const double LayerNormEps = 1e-5;

    sealed record DbrxOptions(double? ClipQkv, int NumExperts, int TopK, int ExpertSize, double? NormP, string Activation)
    {
        public static DbrxOptions From(ModelConfig c)
        {
            var attn = c.Field("attn_config") as JsonObject;
            var ffn = c.Field("ffn_config") as JsonObject ?? throw new ModelConfigException("DBRX config needs ffn_config");
            int Req(string key) => Num(ffn, key) is double d ? (int)d : throw new ModelConfigException($"DBRX config needs ffn_config.{key}");
            return new(Num(attn, "clip_qkv"), Req("moe_num_experts"), Req("moe_top_k"), Req("ffn_hidden_size"),
                ffn.ContainsKey("moe_normalize_expert_weights") ? Num(ffn, "moe_normalize_expert_weights") : 1.0,
                (ffn["ffn_act_fn"] as JsonObject)?["name"]?.GetValue<string>() ?? "silu");
        }
    }

    static double? Num(JsonObject? o, string key) => o?[key] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;

    /// <summary>KV heads and the rotary base live in attn_config.</summary>
    static ModelConfig WithAttnConfig(ModelConfig c)
    {
        var attn = c.Field("attn_config") as JsonObject;
        int kv = Num(attn, "kv_n_heads") is double k ? (int)k : c.NumAttentionHeads;
        var rope = Num(attn, "rope_theta") is double theta && c.Field("rope_parameters") is null ? c.Rope with { Theta = theta } : c.Rope;
        return c with { NumKeyValueHeads = kv, Rope = rope };
    }

    DbrxOptions? _options;
    DbrxOptions Options => _options ??= DbrxOptions.From(Config);

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        var o = Options;
        int nh = c.NumAttentionHeads, kv = c.NumKeyValueHeads, hd = c.HeadDim, h = c.HiddenSize, e = o.NumExperts, inter = o.ExpertSize;
        string p = prefix + "norm_attn_norm.";
        var attention = new SelfAttention(
            new Linear(w.Load(p + "attn.Wqkv.weight", [(nh + 2L * kv) * hd, h]), null, [nh * hd, kv * hd, kv * hd]),
            w.Linear(p + "attn.out_proj", h, nh * hd),
            new Layers.Attention(index, nh, kv, hd, 1.0 / Math.Sqrt(hd)),
            clipQkv: o.ClipQkv);
        string f = prefix + "ffn.";
        using var w1 = w.Load(f + "experts.mlp.w1", [(long)e * inter, h]);
        using var v1 = w.Load(f + "experts.mlp.v1", [(long)e * inter, h]);
        using var w2 = w.Load(f + "experts.mlp.w2", [(long)e * inter, h]);
        var experts = new FusedMoe(
            torch.cat([w1.view(e, inter, h), v1.view(e, inter, h)], 1),
            w2.view(e, inter, h).transpose(1, 2).contiguous(), Activations.Get(o.Activation));
        var moe = new RoutedMoeBlock(new SoftmaxTopKRouter(w.Linear(f + "router.layer", e, h), o.TopK, o.NormP), experts);
        return new DecoderLayer(NormAt(w, p + "norm_1.weight"), attention, NormAt(w, p + "norm_2.weight"), moe);
    }

    LayerNorm NormAt(ModelWeights w, string name) => new(w.Load(name, [Config.HiddenSize], WeightInit.Ones), null, LayerNormEps);

    protected override INorm FinalNorm(ModelWeights w, string name, long size) => NormAt(w, name);
}

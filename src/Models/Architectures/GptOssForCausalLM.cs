using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// GPT-OSS: Llama-style blocks whose attention has biases on q/k/v/o and a learned sink logit per head
/// (`self_attn.sinks`), sliding-window and full layers by layer_types, YaRN rotary, and experts on every layer.
/// The router `mlp.router` (weight and bias) takes the top-k logits and a softmax over them. The experts keep
/// transformers' layout, gate_up_proj [E, H, 2I] with gate and up interleaved by column and down_proj [E, I, H], plus
/// biases; they are transposed and de-interleaved at load into FusedMoe's w13 [E, 2I, H] (gate rows first) and w2.
/// Each expert computes (clamp(up, ±limit) + 1) · g · sigmoid(alpha · g) with g = min(gate, limit), alpha 1.702 and
/// limit 7 (GptOssExperts), then down_proj.
/// </summary>
public sealed class GptOssForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    const double Alpha = 1.702, Limit = 7.0;

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        int nh = c.NumAttentionHeads, kv = c.NumKeyValueHeads, hd = c.HeadDim, h = c.HiddenSize;
        bool bias = c.AttentionBias;
        string p = prefix + "self_attn.";
        var window = c.SlidingWindow != null && c.SlidingLayers[index] ? c.SlidingWindow : null;
        var attention = new SelfAttention(
            w.Packed(p, Packed, "qkv_proj", [nh * hd, kv * hd, kv * hd], h, bias),
            w.Linear(p + "o_proj", h, nh * hd, bias),
            new Layers.Attention(index, nh, kv, hd, 1.0 / Math.Sqrt(hd), window, sinks: w.Load(p + "sinks", [nh], WeightInit.Zeros)));
        int experts = c.RequiredIntField("num_local_experts");
        string m = prefix + "mlp.";
        var router = new SoftmaxTopKRouter(w.Linear(m + "router", experts, h, bias: true), c.RequiredIntField("num_experts_per_tok"));
        return LlamaLayer(prefix, w, attention, new RoutedMoeBlock(router, Experts(w, m + "experts.", experts)));
    }

    FusedMoe Experts(ModelWeights w, string prefix, int experts)
    {
        int h = Config.HiddenSize, inter = Config.IntermediateSize;
        if (!w.Source.Contains(prefix + "gate_up_proj") && w.Source.Contains(prefix + "gate_up_proj_blocks"))
            throw new NotSupportedException("GPT-OSS experts in MXFP4 (gate_up_proj_blocks / _scales) are not supported yet: use a checkpoint with bf16 experts");
        using var scope = NewDisposeScope();
        // Columns 0, 2, 4, ... of gate_up are the gate, 1, 3, 5, ... the up projection.
        var order = torch.cat([torch.arange(0, 2 * inter, 2, device: w.Device), torch.arange(1, 2 * inter, 2, device: w.Device)]);
        var gateUp = w.Load(prefix + "gate_up_proj", [experts, h, 2L * inter]).index_select(2, order).transpose(1, 2).contiguous();
        var gateUpBias = w.Load(prefix + "gate_up_proj_bias", [experts, 2L * inter], WeightInit.Zeros).index_select(1, order);
        var down = w.Load(prefix + "down_proj", [experts, inter, h]).transpose(1, 2).contiguous();
        var downBias = w.Load(prefix + "down_proj_bias", [experts, h], WeightInit.Zeros);
        return new FusedMoe(gateUp.DetachFromDisposeScope(), down.DetachFromDisposeScope(), ClampedSwiGlu,
            gateUpBias.DetachFromDisposeScope(), downBias.DetachFromDisposeScope());
    }

    static Tensor ClampedSwiGlu(Tensor gate, Tensor up)
    {
        using var scope = NewDisposeScope();
        var g = gate.clamp_max(Scalars.Of(Limit));
        var u = up.clamp(Scalars.Of(-Limit), Scalars.Of(Limit));
        return ((u + Scalars.One) * (g * torch.sigmoid(g * Scalars.Of(Alpha)))).MoveToOuterDisposeScope();
    }
}

using System.Text.Json.Nodes;
using Pipeline.Models.Architectures;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Multimodal;

/// <summary>A BLIP-2 qformer_config's values (Blip2QFormerConfig's defaults where absent), read once.</summary>
public sealed record Blip2QFormerOptions(int HiddenSize, int IntermediateSize, int NumLayers, int NumHeads, double LayerNormEps,
    string HiddenAct, int CrossAttentionFrequency, int EncoderHiddenSize)
{
    public static Blip2QFormerOptions From(JsonObject? qformer, int visionHidden)
    {
        qformer ??= new JsonObject();
        int Int(string k, int d) => qformer[k] is JsonValue v && v.TryGetValue<double>(out var x) ? (int)x : d;
        if (qformer["use_qformer_text_input"] is JsonValue t && t.GetValue<bool>())
            throw new Config.ModelConfigException("BLIP-2 with use_qformer_text_input (InstructBLIP-style text queries) is not supported");
        return new Blip2QFormerOptions(Int("hidden_size", 768), Int("intermediate_size", 3072), Int("num_hidden_layers", 12),
            Int("num_attention_heads", 12), qformer["layer_norm_eps"] is JsonValue e && e.TryGetValue<double>(out var eps) ? eps : 1e-12,
            qformer["hidden_act"]?.GetValue<string>() ?? "gelu", Int("cross_attention_frequency", 2), visionHidden);
    }
}

/// <summary>
/// BLIP-2's Querying Transformer over the learned query tokens only (transformers' Blip2QFormerModel with
/// query_embeds, vLLM's Blip2QFormerModel): LayerNorm on the queries, then BERT-style post-norm layers: self-attention,
/// cross-attention to the image's hidden states in every cross_attention_frequency-th layer (0, f, 2f, ...), and the
/// query feed-forward (intermediate_query, output_query).
/// </summary>
public sealed class Blip2QFormer : IDisposable
{
    /// <summary>Attention and its output block: LayerNorm(dense(attention) + input).</summary>
    sealed record AttentionBlock(Linear Query, Linear Key, Linear Value, Linear Dense, LayerNorm Norm) : IDisposable
    {
        public void Dispose() { Query.Dispose(); Key.Dispose(); Value.Dispose(); Dense.Dispose(); Norm.Dispose(); }
    }

    sealed record Layer(AttentionBlock Self, AttentionBlock? Cross, Linear Intermediate, Linear Output, LayerNorm OutputNorm);

    readonly Blip2QFormerOptions _o;
    readonly LayerNorm _norm;
    readonly List<Layer> _layers = new();
    readonly Func<Tensor, Tensor> _act;

    public Blip2QFormerOptions Options => _o;

    /// <param name="prefix">the weights' prefix up to "layernorm." (e.g. "qformer.")</param>
    public Blip2QFormer(Blip2QFormerOptions o, IWeightSource w, string prefix, ScalarType dtype, Device device)
    {
        _o = o;
        int h = o.HiddenSize;
        Tensor W(string name, params long[] shape) => w.Load(prefix + name, shape, dtype, device);
        LayerNorm Norm(string name) => new(W(name + ".weight", h), W(name + ".bias", h), o.LayerNormEps);
        Linear Lin(string name, long outF, long inF) => new(W(name + ".weight", outF, inF), W(name + ".bias", outF));
        AttentionBlock Block(string p, int kvIn) => new(Lin(p + "attention.query", h, h), Lin(p + "attention.key", h, kvIn),
            Lin(p + "attention.value", h, kvIn), Lin(p + "output.dense", h, h), Norm(p + "output.LayerNorm"));
        _norm = Norm("layernorm");
        for (int i = 0; i < o.NumLayers; i++)
        {
            var p = $"encoder.layer.{i}.";
            _layers.Add(new Layer(Block(p + "attention.", h), i % o.CrossAttentionFrequency == 0 ? Block(p + "crossattention.", o.EncoderHiddenSize) : null,
                Lin(p + "intermediate_query.dense", o.IntermediateSize, h), Lin(p + "output_query.dense", h, o.IntermediateSize), Norm(p + "output_query.LayerNorm")));
        }
        _act = Activations.Get(o.HiddenAct);
    }

    /// <summary>The query tokens [N, Q, hidden] after attending to the image's hidden states [N, S, encoder hidden].</summary>
    public Tensor Forward(Tensor queries, Tensor imageStates)
    {
        using var scope = NewDisposeScope();
        var x = _norm.Forward(queries);
        foreach (var l in _layers)
        {
            x = Attend(l.Self, x, x);
            if (l.Cross != null) x = Attend(l.Cross, x, imageStates);
            x = l.OutputNorm.Forward(l.Output.Forward(_act(l.Intermediate.Forward(x))) + x);
        }
        return x.MoveToOuterDisposeScope();
    }

    Tensor Attend(AttentionBlock b, Tensor x, Tensor kv)
    {
        long n = x.shape[0];
        int heads = _o.NumHeads, d = _o.HiddenSize / heads;
        Tensor Heads(Tensor t) => t.view(n, -1, heads, d).transpose(1, 2);
        var probs = torch.softmax(torch.matmul(Heads(b.Query.Forward(x)), Heads(b.Key.Forward(kv)).transpose(-1, -2)) * (1.0 / Math.Sqrt(d)), -1);
        var o = torch.matmul(probs, Heads(b.Value.Forward(kv))).transpose(1, 2).reshape(n, -1, _o.HiddenSize);
        return b.Norm.Forward(b.Dense.Forward(o) + x);
    }

    public void Dispose()
    {
        _norm.Dispose();
        foreach (var l in _layers)
        {
            l.Self.Dispose(); l.Cross?.Dispose();
            l.Intermediate.Dispose(); l.Output.Dispose(); l.OutputNorm.Dispose();
        }
    }
}

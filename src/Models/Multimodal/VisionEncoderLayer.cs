using Pipeline.Models.Architectures;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// The pre-LayerNorm ViT encoder layer CLIP and SigLIP share (transformers' CLIPEncoderLayer / SiglipEncoderLayer,
/// vLLM's CLIPEncoderLayer / SiglipEncoderLayer): layer_norm1, multi-head self-attention over all positions (q/k/v/out_proj
/// with biases, scores scaled by 1/sqrt(head_dim), softmax in float32), residual; layer_norm2, fc1, activation, fc2,
/// residual. Weight names under <c>{prefix}</c> are the checkpoints' (<c>encoder.layers.{i}.</c>).
/// </summary>
public sealed class VisionEncoderLayer : IDisposable
{
    readonly LayerNorm _norm1, _norm2;
    readonly Linear _q, _k, _v, _out, _fc1, _fc2;
    readonly Func<Tensor, Tensor> _act;
    readonly int _heads;

    public VisionEncoderLayer(IWeightSource w, string prefix, int hidden, int intermediate, int heads, double layerNormEps,
        Func<Tensor, Tensor> act, ScalarType dtype, Device device)
    {
        if (hidden % heads != 0) throw new ArgumentException($"vision hidden size {hidden} is not a multiple of its {heads} heads");
        Tensor W(string name, params long[] shape) => w.Load(prefix + name, shape, dtype, device);
        LayerNorm Norm(string name) => new(W(name + ".weight", hidden), W(name + ".bias", hidden), layerNormEps);
        Linear Lin(string name, long outF, long inF) => new(W(name + ".weight", outF, inF), W(name + ".bias", outF));
        _norm1 = Norm("layer_norm1");
        _q = Lin("self_attn.q_proj", hidden, hidden);
        _k = Lin("self_attn.k_proj", hidden, hidden);
        _v = Lin("self_attn.v_proj", hidden, hidden);
        _out = Lin("self_attn.out_proj", hidden, hidden);
        _norm2 = Norm("layer_norm2");
        _fc1 = Lin("mlp.fc1", intermediate, hidden);
        _fc2 = Lin("mlp.fc2", hidden, intermediate);
        _act = act;
        _heads = heads;
    }

    /// <summary>x [N, S, hidden] → [N, S, hidden]. <paramref name="mask"/>: an additive bias broadcast to [N, heads, S, S] (null: none).</summary>
    public Tensor Forward(Tensor x, Tensor? mask = null)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[0], h = x.shape[2], d = h / _heads;
        var a = _norm1.Forward(x);
        Tensor Heads(Tensor t) => t.view(n, -1, _heads, d).transpose(1, 2);
        var q = Heads(_q.Forward(a) * (1.0 / Math.Sqrt(d)));
        var k = Heads(_k.Forward(a));
        var v = Heads(_v.Forward(a));
        var scores = torch.matmul(q, k.transpose(-1, -2));
        if (mask is not null) scores = scores + mask;
        var probs = torch.softmax(scores, -1, ScalarType.Float32).to_type(q.dtype);
        var o = torch.matmul(probs, v).transpose(1, 2).reshape(n, -1, h);
        x = x + _out.Forward(o);
        x = x + _fc2.Forward(_act(_fc1.Forward(_norm2.Forward(x))));
        return x.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        foreach (var m in new IDisposable[] { _norm1, _q, _k, _v, _out, _norm2, _fc1, _fc2 }) m.Dispose();
    }
}

using Pipeline.Models.Architectures;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// Mistral3's projector (transformers' Mistral3MultiModalProjector, vLLM's): RMSNorm over the vision features (eps of
/// the text model), the patch merger (Mistral3PatchMerger: each spatial_merge_size x spatial_merge_size block of
/// patches, channels outermost as torch's unfold lays them out, through merging_layer), then linear_1, the activation
/// and linear_2 to the language model's width.
/// </summary>
public sealed class Mistral3MultiModalProjector : IDisposable
{
    readonly RmsNorm _norm;
    readonly Linear _merging, _linear1, _linear2;
    readonly Func<Tensor, Tensor> _act;
    readonly int _merge, _visionHidden;

    /// <param name="prefix">"multi_modal_projector." or "model.multi_modal_projector."</param>
    public Mistral3MultiModalProjector(IWeightSource source, string prefix, int visionHidden, int textHidden, int spatialMergeSize,
        bool bias, string act, double normEps, ScalarType dtype, Device device)
    {
        var w = new ModelWeights(new RenamedWeightSource(source, n => prefix + n), dtype, device);
        _merge = spatialMergeSize;
        _visionHidden = visionHidden;
        _norm = w.RmsNorm("norm.weight", visionHidden, normEps);
        _merging = w.Linear("patch_merger.merging_layer", visionHidden, (long)visionHidden * spatialMergeSize * spatialMergeSize);
        _linear1 = w.Linear("linear_1", textHidden, visionHidden, bias);
        _linear2 = w.Linear("linear_2", textHidden, textHidden, bias);
        _act = Activations.Get(act);
    }

    /// <summary>One image's features [rows * cols, vision hidden] (row-major patches) to [(rows / m) * (cols / m), text hidden].</summary>
    public Tensor Forward(Tensor features, int rows, int cols)
    {
        using var scope = NewDisposeScope();
        int m = _merge, d = _visionHidden, br = rows / m, bc = cols / m;
        var x = _norm.Forward(features).view(rows, cols, d);
        // unfold(kernel m, stride m) drops a remainder row or column of patches; each block's vector is (channel, i, j).
        x = x.narrow(0, 0, br * m).narrow(1, 0, bc * m).reshape(br, m, bc, m, d).permute(0, 2, 4, 1, 3).reshape(br * bc, d * m * m);
        var merged = _merging.Forward(x);
        return _linear2.Forward(_act(_linear1.Forward(merged))).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _norm.Dispose(); _merging.Dispose(); _linear1.Dispose(); _linear2.Dispose();
    }
}

using System.Text.Json.Nodes;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// Idefics3's vision transformer (transformers' Idefics3VisionTransformer, vLLM's Idefics3VisionTransformer): SigLIP
/// (<see cref="SiglipVisionTower"/>: its patch convolution, encoder layers and post_layernorm) with NaViT-style
/// positions for tiles of any size: each patch's learned position is the bucket its fractional (row, column) falls in
/// on the image_size / patch_size grid. The processor's tiles are whole (no padding), so every patch is real and
/// attention needs no mask.
/// </summary>
public sealed class Idefics3VisionTransformer : IDisposable
{
    readonly SiglipVisionTower _tower;

    public SiglipVisionOptions Options => _tower.Options;

    /// <summary>vision_config with Idefics3VisionConfig's defaults where a field is absent.</summary>
    public static SiglipVisionOptions OptionsFrom(JsonObject vision)
    {
        int Int(string k, int d) => vision[k] is JsonValue v && v.TryGetValue<double>(out var x) ? (int)x : d;
        return new SiglipVisionOptions(Int("hidden_size", 1152), Int("intermediate_size", 3072), Int("num_hidden_layers", 12),
            Int("num_attention_heads", 16), Int("image_size", 224), Int("patch_size", 32), Int("num_channels", 3),
            vision["layer_norm_eps"] is JsonValue e && e.TryGetValue<double>(out var eps) ? eps : 1e-6,
            vision["hidden_act"]?.GetValue<string>() ?? "gelu_pytorch_tanh");
    }

    /// <param name="prefix">the weights' prefix up to "embeddings." (e.g. "model.vision_model.")</param>
    public Idefics3VisionTransformer(SiglipVisionOptions o, IWeightSource w, string prefix, ScalarType dtype, Device device) =>
        _tower = new SiglipVisionTower(o, w, prefix, dtype, device);

    /// <summary>
    /// Idefics3VisionEmbeddings' position ids for a whole tile of <paramref name="rows"/> x <paramref name="cols"/>
    /// patches: fractional coordinates i / rows (float32, clamped below 1) bucketized (right=True) by
    /// arange(1/n, 1, 1/n), as torch computes them.
    /// </summary>
    public Tensor PositionIds(int rows, int cols, Device device)
    {
        using var scope = NewDisposeScope();
        int n = Options.PatchesPerSide;
        var boundaries = torch.arange(1.0 / n, 1.0, 1.0 / n, ScalarType.Float32, device);
        Tensor Buckets(int count)
        {
            var step = torch.ones(1, ScalarType.Float32, device) / torch.tensor((long)count, device: device);
            var frac = (torch.arange(count, ScalarType.Float32, device) * step).clamp_max(1.0 - 1e-6);
            // bucketize(right=True): how many boundaries are <= each coordinate.
            return (boundaries.unsqueeze(0) <= frac.unsqueeze(1)).sum(1, type: ScalarType.Int64);
        }
        var ids = Buckets(rows).unsqueeze(1) * n + Buckets(cols).unsqueeze(0);
        return ids.reshape(-1).MoveToOuterDisposeScope();
    }

    /// <summary>Tiles [N, 3, H, W] (H, W multiples of patch_size) to the last hidden states [N, patches, hidden].</summary>
    public Tensor Forward(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var (weight, bias, positions) = _tower.EmbeddingWeights;
        int p = Options.PatchSize, rows = (int)pixelValues.shape[2] / p, cols = (int)pixelValues.shape[3] / p;
        var patches = nn.functional.conv2d(pixelValues.to_type(weight.dtype), weight, bias, strides: [p, p]);
        var x = patches.flatten(2).transpose(1, 2); // [N, patches, hidden]
        x = x + positions.index_select(0, PositionIds(rows, cols, positions.device)).unsqueeze(0);
        return _tower.Encode(x).MoveToOuterDisposeScope();
    }

    public void Dispose() => _tower.Dispose();
}

/// <summary>
/// Idefics3Connector: pixel shuffle (each scale_factor x scale_factor block of patches becomes one row of
/// scale_factor² x hidden features, in transformers' order), then modality_projection.proj (no bias).
/// </summary>
public sealed class Idefics3Connector(Linear proj, int scaleFactor) : IDisposable
{
    public int ScaleFactor => scaleFactor;

    public static Tensor PixelShuffle(Tensor x, int s)
    {
        long b = x.shape[0], seq = x.shape[1], d = x.shape[2];
        long side = (long)Math.Sqrt(seq);
        if (side * side != seq || side % s != 0)
            throw new ArgumentException($"pixel shuffle needs a square grid of patches divisible by {s}, got {seq} patches");
        x = x.view(b, side, side, d).view(b, side, side / s, d * s).permute(0, 2, 1, 3);
        x = x.reshape(b, side / s, side / s, d * s * s).permute(0, 2, 1, 3);
        return x.reshape(b, seq / (s * s), d * s * s);
    }

    public Tensor Forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        return proj.Forward(PixelShuffle(hidden, scaleFactor)).MoveToOuterDisposeScope();
    }

    public void Dispose() => proj.Dispose();
}

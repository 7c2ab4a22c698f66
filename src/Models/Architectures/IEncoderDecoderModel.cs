using Pipeline.Models.Multimodal.Audio;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// An encoder-decoder model (Whisper): the encoder runs once per request and gives each decoder layer's
/// cross-attention keys and values, which the runner keeps with the request; the decoder runs as any causal LM over
/// the paged KV cache, reading them through <see cref="Forward.ForwardContext.CrossAttention"/>.
/// </summary>
public interface IEncoderDecoderModel
{
    /// <summary>The encoder's cross-attention K/V for one request's audio, on the model's device.</summary>
    CrossAttentionCache Encode(ProcessedAudio audio);

    /// <summary>How many mel bins the encoder takes (config num_mel_bins).</summary>
    int NumMelBins { get; }
}

/// <summary>One request's encoder output as the decoder reads it: per decoder layer, keys and values [S, H, D].</summary>
public sealed class CrossAttentionCache(IReadOnlyList<(Tensor Keys, Tensor Values)> layers) : IDisposable
{
    public IReadOnlyList<(Tensor Keys, Tensor Values)> Layers { get; } = layers;

    public void Dispose()
    {
        foreach (var (k, v) in Layers) { k.Dispose(); v.Dispose(); }
    }
}

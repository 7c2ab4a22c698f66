using Pipeline.Models.Architectures;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Multimodal.Audio;

/// <summary>
/// Qwen2-Audio's audio side: the Whisper encoder layers (<see cref="WhisperEncoder.ForwardPooled"/>: convolutions,
/// layers over the clip's positions, average pooling by 2, layer norm) and the multi_modal_projector (one Linear to the
/// decoder's width). A clip of L mel frames gives (L - 1) / 2 + 1 encoder positions and half as many rows, the count
/// Qwen2AudioProcessor expands its &lt;|AUDIO|&gt; token to (<see cref="AudioPlaceholders"/>).
/// </summary>
public sealed class Qwen2AudioEncoder : IDisposable
{
    readonly WhisperEncoder _tower;
    readonly Linear _projector;

    public Qwen2AudioEncoder(WhisperOptions options, IWeightSource weights, string tower, string projector, int textHidden, ScalarType dtype, Device device)
    {
        Options = options;
        var w = new ModelWeights(weights, dtype, device);
        _tower = new WhisperEncoder(options, w, tower);
        try { _projector = w.Linear(projector + "linear", textHidden, options.DModel, true); }
        catch { _tower.Dispose(); throw; }
        DType = dtype;
        Device = device;
    }

    public WhisperOptions Options { get; }
    public ScalarType DType { get; }
    public Device Device { get; }

    /// <summary>The frames the tower takes (2 x max_source_positions; 3000 = 30 s for the real model).</summary>
    public int NumFrames => _tower.NumFrames;

    /// <summary>Encoder positions after the second (stride 2) convolution for <paramref name="frames"/> valid mel frames.</summary>
    public static int EncoderPositions(int frames) => (frames - 1) / 2 + 1;

    /// <summary>The rows a clip of <paramref name="frames"/> valid mel frames becomes (Qwen2AudioProcessor's count).</summary>
    public static int NumAudioTokens(int frames) => EncoderPositions(frames) / 2;

    /// <summary>One clip's rows [NumAudioTokens(valid frames), text hidden], on the model's device.</summary>
    public Tensor Encode(ProcessedAudio audio)
    {
        if (audio.NumMelBins != Options.NumMelBins)
            throw new ArgumentException($"the audio has {audio.NumMelBins} mel bins but the model takes {Options.NumMelBins}");
        if (audio.NumFrames != NumFrames)
            throw new ArgumentException($"the audio has {audio.NumFrames} frames but the model's encoder takes {NumFrames}");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var features = tensor(audio.Features, [1, audio.NumMelBins, audio.NumFrames]).to(DType).to(Device);
        var states = _tower.ForwardPooled(features, EncoderPositions(audio.ValidFrames)).squeeze(0);
        return _projector.Forward(states).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _tower.Dispose();
        _projector.Dispose();
    }
}

using System.Text.Json.Nodes;
using Pipeline.Models.Cache;
using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal.Audio;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Qwen2-Audio: a Whisper-style audio tower with average pooling and a Linear projector
/// (<see cref="Qwen2AudioEncoder"/>) in front of a Qwen2 decoder; the runner puts each clip's rows in place of its
/// &lt;|AUDIO|&gt; tokens. The checkpoint layouts load: audio_tower.* + multi_modal_projector.* + language_model.model.*
/// / language_model.lm_head (the Qwen checkpoints), the same with language_model.model.model.* (as transformers 5.17
/// saves its Qwen2AudioModel), and model.audio_tower.* + model.multi_modal_projector.* + model.language_model.* / lm_head.
/// </summary>
public sealed class Qwen2AudioForConditionalGeneration : ICausalLM, IMultiModalAudioModel
{
    readonly ICausalLM _text;
    readonly Qwen2AudioEncoder _audio;

    public Qwen2AudioForConditionalGeneration(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    {
        var audioConfig = config.Raw["audio_config"] as JsonObject
            ?? throw new ModelConfigException("config.json: 'audio_config' is required for Qwen2-Audio");
        IWeightSource textWeights =
            weights.Contains("model.language_model.embed_tokens.weight")
                ? new RenamedWeightSource(weights, n => n.StartsWith("model.", StringComparison.Ordinal) ? "model.language_model." + n[6..] : n)
            : weights.Contains("language_model.model.model.embed_tokens.weight")
                ? new RenamedWeightSource(weights, n => n.StartsWith("model.", StringComparison.Ordinal) ? "language_model.model." + n : "language_model." + n)
            : weights.Contains("language_model.model.embed_tokens.weight") ? new RenamedWeightSource(weights, n => "language_model." + n)
            : weights;
        string prefix = weights.Contains("model.audio_tower.conv1.weight") ? "model." : "";
        _text = new Qwen2ForCausalLM(config, textWeights, dtype, device);
        try
        {
            _audio = new Qwen2AudioEncoder(WhisperOptions.ForEncoder(audioConfig), weights, prefix + "audio_tower.",
                prefix + "multi_modal_projector.", config.HiddenSize, dtype, device);
        }
        catch { _text.Dispose(); throw; }
    }

    public ModelConfig Config => _text.Config;
    public ScalarType DType => _text.DType;
    public Device Device => _text.Device;
    public IReadOnlyList<Layers.Attention> AttentionLayers => _text.AttentionLayers;
    public Tensor EmbedInputIds(Tensor inputIds) => _text.EmbedInputIds(inputIds);
    public Tensor Forward(Tensor? inputIds, Tensor? inputsEmbeds, ForwardContext ctx) => _text.Forward(inputIds, inputsEmbeds, ctx);
    public Tensor ComputeLogits(Tensor hidden) => _text.ComputeLogits(hidden);
    public KVCacheConfig KVCacheConfig(int blockSize) => _text.KVCacheConfig(blockSize);

    public Tensor EncodeAudio(ProcessedAudio audio) => _audio.Encode(audio);

    public void Dispose()
    {
        _text.Dispose();
        _audio.Dispose();
    }
}

using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Pipeline.Models.Multimodal.Audio;

/// <summary>
/// Qwen2AudioProcessor's audio side: each clip is decoded, resampled to 16 kHz and turned into WhisperFeatureExtractor
/// features padded to the window (chunk_length seconds) with the frames that hold audio counted
/// (feature_attention_mask); the prompt's &lt;|AUDIO|&gt; token for the k-th clip is repeated as many times as the
/// encoder gives rows for it, ((frames - 1) / 2 + 1 - 2) / 2 + 1 (vLLM's prompt update; transformers' processor does
/// the same). A clip longer than the window is refused rather than cut.
/// </summary>
public sealed class AudioPlaceholders(WhisperFeatureExtractor extractor, int audioTokenId)
{
    public WhisperFeatureExtractor Extractor { get; } = extractor;
    public int AudioTokenId { get; } = audioTokenId;

    /// <summary>The longest clip the model takes, in seconds: the feature extractor's window.</summary>
    public int MaxSeconds => Extractor.Config.ChunkLength;

    /// <summary>Encoded audio (WAV, FLAC, MP3, Ogg Vorbis) to the clip's features; errors name the problem.</summary>
    public ProcessedAudio Process(byte[] bytes)
    {
        var audio = AudioDecoder.Decode(bytes);
        return Process(Extractor.ToWaveform(audio));
    }

    /// <summary>A waveform at the extractor's sampling rate (16 kHz) to the clip's features.</summary>
    public ProcessedAudio Process(ReadOnlySpan<float> wav)
    {
        var c = Extractor.Config;
        if (wav.Length == 0) throw new MediaException("the audio is empty (no samples after decoding)");
        if (wav.Length > c.NSamples)
            throw new MediaException($"the audio is {(double)wav.Length / c.SamplingRate:0.##} s long, longer than the {c.ChunkLength} s the model's audio encoder takes");
        var features = Extractor.Extract(wav);
        var hash = Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(wav)));
        int valid = Math.Min(c.NbMaxFrames, (wav.Length + c.HopLength - 1) / c.HopLength);
        return new ProcessedAudio(features, c.FeatureSize, c.NbMaxFrames, (double)wav.Length / c.SamplingRate, hash) { ValidFrames = valid };
    }

    public int NumAudioTokens(ProcessedAudio clip) => Qwen2AudioEncoder.NumAudioTokens(clip.ValidFrames);

    /// <summary>
    /// Repeats the k-th audio token of <paramref name="promptIds"/> NumAudioTokens(clips[k]) times. Returns the new ids
    /// and, per clip, where its tokens start and how many there are.
    /// </summary>
    public (int[] Ids, PlaceholderRange[] Ranges) Expand(IReadOnlyList<int> promptIds, IReadOnlyList<ProcessedAudio> clips)
    {
        int found = promptIds.Count(id => id == AudioTokenId);
        if (found != clips.Count)
            throw new MediaException($"the prompt has {found} audio placeholder token(s) (id {AudioTokenId}) but {clips.Count} audio clip(s) were given");
        var counts = clips.Select(NumAudioTokens).ToArray();
        var ids = new List<int>(promptIds.Count + counts.Sum());
        var ranges = new PlaceholderRange[clips.Count];
        int k = 0;
        foreach (var id in promptIds)
        {
            if (id != AudioTokenId) { ids.Add(id); continue; }
            ranges[k] = new PlaceholderRange(ids.Count, counts[k]);
            for (int i = 0; i < counts[k]; i++) ids.Add(id);
            k++;
        }
        return (ids.ToArray(), ranges);
    }

    /// <summary>
    /// The audio placeholder rule of an audio-language model (config.json with an audio_config, model_type qwen2_audio),
    /// its feature extractor read from the model folder; null for any other model.
    /// </summary>
    public static AudioPlaceholders? Create(JsonObject modelConfig, string modelDir, Func<string, int?>? tokenIdOf = null)
    {
        if (modelConfig["audio_config"] is not JsonObject audio || modelConfig["model_type"]?.GetValue<string>() != "qwen2_audio") return null;
        static int? Int(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out var d) ? (int)d : null;
        var extractor = new WhisperFeatureExtractor(WhisperFeatureConfig.FromDirectory(modelDir, Int(audio["num_mel_bins"]) ?? 128));
        int tokenId = Int(modelConfig["audio_token_index"]) ?? Int(modelConfig["audio_token_id"]) ?? tokenIdOf?.Invoke("<|AUDIO|>")
            ?? throw new MediaException("the model's config names no audio token id (audio_token_index) and the tokenizer has no '<|AUDIO|>'");
        return new AudioPlaceholders(extractor, tokenId);
    }
}

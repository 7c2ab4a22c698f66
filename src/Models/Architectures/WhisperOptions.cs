using Pipeline.Models.Config;

namespace Pipeline.Models.Architectures;

/// <summary>Whisper's config.json fields (WhisperConfig), read once.</summary>
public sealed record WhisperOptions(int DModel, int EncoderLayers, int EncoderHeads, int EncoderFfnDim, int DecoderLayers,
    int DecoderHeads, int DecoderFfnDim, int NumMelBins, int MaxSourcePositions, int MaxTargetPositions, string Activation,
    bool ScaleEmbedding)
{
    /// <summary>Whisper's LayerNorms keep torch's default epsilon.</summary>
    public const double LayerNormEps = 1e-5;

    /// <summary>
    /// An audio tower's config alone (Qwen2-Audio's audio_config, Qwen2AudioEncoderConfig): the encoder fields, no decoder.
    /// </summary>
    public static WhisperOptions ForEncoder(System.Text.Json.Nodes.JsonObject c)
    {
        int Int(string k, int? def = null) => c[k] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<double>(out var x) ? (int)x
            : def ?? throw new ModelConfigException($"config.json: audio_config.{k} is required");
        var o = new WhisperOptions(Int("d_model", 1280), Int("encoder_layers", 32), Int("encoder_attention_heads", 20),
            Int("encoder_ffn_dim", 5120), 0, 1, 0, Int("num_mel_bins", 128), Int("max_source_positions", 1500), 0,
            c["activation_function"]?.GetValue<string>() ?? "gelu", c["scale_embedding"]?.GetValue<bool>() ?? false);
        if (o.DModel % o.EncoderHeads != 0)
            throw new ModelConfigException($"config.json: audio_config.d_model ({o.DModel}) must be a multiple of encoder_attention_heads ({o.EncoderHeads})");
        return o;
    }

    public static WhisperOptions From(ModelConfig c)
    {
        int Req(string k) => c.RequiredIntField(k);
        var o = new WhisperOptions(Req("d_model"), Req("encoder_layers"), Req("encoder_attention_heads"), Req("encoder_ffn_dim"),
            Req("decoder_layers"), Req("decoder_attention_heads"), Req("decoder_ffn_dim"), c.IntField("num_mel_bins") ?? 80,
            c.IntField("max_source_positions") ?? 1500, c.IntField("max_target_positions") ?? 448,
            c.StringField("activation_function") ?? "gelu", c.BoolField("scale_embedding") ?? false);
        if (o.DModel % o.EncoderHeads != 0 || o.DModel % o.DecoderHeads != 0)
            throw new ModelConfigException($"config.json: d_model ({o.DModel}) must be a multiple of the attention heads");
        return o;
    }
}

using Pipeline.Actors.Engine;
using Pipeline.Models.Multimodal;

namespace Pipeline.Actors.Multimodal;

/// <summary>Whether a loaded model takes images, and its placeholder rule when it does.</summary>
public static class MultiModalSupport
{
    static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ModelContext, object> Takes = new(), TakesAudioClips = new();

    /// <summary>Whether the model takes audio clips in its prompts (Qwen2-Audio), cached per loaded model.</summary>
    public static bool TakesAudio(ModelContext ctx) => (bool)TakesAudioClips.GetValue(ctx, c => AudioPlaceholders(c) != null);

    /// <summary>The audio placeholder rule of an audio-language model; null for any other model.</summary>
    public static Pipeline.Models.Multimodal.Audio.AudioPlaceholders? AudioPlaceholders(ModelContext ctx) =>
        Pipeline.Models.Multimodal.Audio.AudioPlaceholders.Create(ctx.Model.Config.Raw, ctx.ModelDir, ctx.Tokenizer == null ? null : ctx.Tokenizer.TokenToId);

    /// <summary>Whether the model takes images (cached per loaded model), for refusing image input before any work.</summary>
    public static bool TakesImages(ModelContext ctx) => (bool)Takes.GetValue(ctx, c => Placeholders(c) != null);

    /// <summary>
    /// The placeholder rule of a vision-language model (config.json has a vision_config and the directory a processor
    /// config); null for a text-only model, whose requests with images are refused.
    /// </summary>
    public static ImagePlaceholders? Placeholders(ModelContext ctx)
    {
        var raw = ctx.Model.Config.Raw;
        // Fuyu has no vision encoder (its patches go through one linear layer), so no vision_config.
        if (raw["vision_config"] == null && raw["model_type"]?.GetValue<string>() != "fuyu") return null;
        var processor = ImageProcessorConfig.FromDirectory(ctx.ModelDir);
        if (processor == null) return null;
        var tokenizer = ctx.Tokenizer;
        return ImagePlaceholders.Create(raw, processor, tokenizer == null ? null : tokenizer.TokenToId,
            tokenizer == null ? null : text => tokenizer.Encode(text, addSpecialTokens: false));
    }
}

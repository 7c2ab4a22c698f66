using Pipeline.Models.Sampling;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Actors.Engine;

/// <summary>
/// Turns a prompt and its sampling params into a validated engine <see cref="Request"/> (vLLM's input processor):
/// tokenizes text, applies the model's generation defaults, and refuses what cannot run with an error naming the field.
/// </summary>
/// <param name="structuredOutputs">Whether the runner can apply structured outputs (it needs a vocabulary: the tokenizer's).</param>
/// <param name="takesAudio">The model is an encoder-decoder speech model: every request carries audio features.</param>
public sealed class InputProcessor(HfTokenizer? tokenizer, int vocabSize, int maxModelLen, IReadOnlyList<int> eosTokenIds, bool? structuredOutputs = null,
    bool takesAudio = false)
{
    public (Request Request, string? Prompt) Process(string requestId, PromptInput prompt, SamplingParams sp, int priority = 0, string? cacheSalt = null,
        Pipeline.Models.Lora.LoRARequest? lora = null)
    {
        IReadOnlyList<int> ids;
        if (prompt.TokenIds != null) ids = prompt.TokenIds;
        else if (prompt.Text != null)
        {
            if (tokenizer == null) throw new SamplingParamsException("prompt", "prompt is text but the model has no tokenizer (or it was skipped): send token ids");
            ids = tokenizer.Encode(prompt.Text);
        }
        else throw new SamplingParamsException("prompt", "prompt must be text or token ids");
        if (ids.Count == 0) throw new SamplingParamsException("prompt", "prompt is empty");
        foreach (var id in ids)
            if (id < 0 || id >= vocabSize) throw new SamplingParamsException("prompt", $"prompt token id {id} is out of vocabulary range [0, {vocabSize})");
        sp.Validate(vocabSize);
        CheckLength(ids.Count, sp, maxModelLen);
        if ((sp.Stop.Count > 0 || sp.BadWords is { Count: > 0 }) && tokenizer == null)
            throw new SamplingParamsException(sp.Stop.Count > 0 ? "stop" : "bad_words", "needs the model's tokenizer, which is not loaded");
        if (sp.StructuredOutputs != null && !(structuredOutputs ?? tokenizer != null))
            throw new SamplingParamsException("structured_outputs", "structured outputs need the model's tokenizer, which is not loaded");
        if (prompt.Audio != null && !takesAudio)
            throw new SamplingParamsException("audio", "this model does not take audio (it is not a speech-to-text model)");
        if (prompt.Audio == null && takesAudio)
            throw new SamplingParamsException("audio", "this speech-to-text model needs audio: use /v1/audio/transcriptions or /v1/audio/translations");
        var features = prompt.Audio is { } audio ? new[] { MultiModalFeature.ForAudio(audio) } : null;
        return (new Request(requestId, ids, sp, eosTokenIds, priority: priority, cacheSalt: cacheSalt, loraRequest: lora, multiModalFeatures: features), prompt.Text);
    }

    /// <summary>The prompt must leave room to generate within max_model_len (checked again after images expand it).</summary>
    public static void CheckLength(int promptTokens, SamplingParams sp, int maxModelLen)
    {
        if (promptTokens >= maxModelLen)
            throw new SamplingParamsException("prompt", $"prompt has {promptTokens} tokens, but max_model_len is {maxModelLen}: nothing can be generated");
        if (sp.MaxTokens is int mt && promptTokens + mt > maxModelLen)
            throw new SamplingParamsException("max_tokens", $"prompt ({promptTokens} tokens) plus max_tokens ({mt}) exceeds max_model_len ({maxModelLen})");
    }
}

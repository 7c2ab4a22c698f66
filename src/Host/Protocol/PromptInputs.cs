using Pipeline.Actors.Engine;
using Pipeline.Host.Http;
using Pipeline.Models.ChatTemplates;

namespace Pipeline.Host.Protocol;

/// <summary>A generation request's prompt as the engine's inputs: completion prompts as they are, chat messages rendered and tokenized.</summary>
public static class PromptInputs
{
    public static List<PromptInput> Of(CompletionRequest r) =>
        r.Prompt!.Texts?.Select(PromptInput.FromText).ToList() ?? r.Prompt.TokenLists!.Select(ids => PromptInput.FromIds(ids)).ToList();

    /// <summary>
    /// The messages (with tools, documents, chat_template_kwargs) rendered by the chat template and tokenized, with their
    /// images in order; 400s name the field.
    /// </summary>
    public static PromptInput Of(ChatCompletionRequest r, ServerContext server) => Rendered(r, server).Prompt;

    /// <summary>The prompt and the rendered text (reasoning parsers look at how the prompt ends).</summary>
    public static (PromptInput Prompt, string Text) Rendered(ChatCompletionRequest r, ServerContext server)
    {
        if (server.Chat == null) throw ApiError.BadRequest(server.ChatTemplateError ?? "this model has no chat template: start the server with --chat-template", "messages");
        var messages = r.TemplateMessages();
        bool hasImages = (r.Messages ?? []).Any(m => m.Content?.ImageUrls.Any() == true);
        if (hasImages && !Pipeline.Actors.Multimodal.MultiModalSupport.TakesImages(server.Model))
            throw ApiError.BadRequest($"this model does not take images ({server.ServedModelName} has no vision-language architecture and image processor config): send text only", "messages");
        bool hasAudio = (r.Messages ?? []).Any(m => m.Content?.AudioUrls.Any() == true);
        if (hasAudio && !Pipeline.Actors.Multimodal.MultiModalSupport.TakesAudio(server.Model))
            throw ApiError.BadRequest($"this model does not take audio ({server.ServedModelName} has no audio-language architecture such as Qwen2-Audio): send text only", "messages");
        var kwargs = (r.ChatTemplateKwargs ?? []).ToDictionary(k => k.Key, k => (object?)System.Text.Json.Nodes.JsonNode.Parse(k.Value.GetRawText()));
        bool continueFinal = r.ContinueFinalMessage ?? false;
        bool addGen = r.AddGenerationPrompt ?? !continueFinal;
        string rendered;
        try { rendered = server.Chat.Render(messages, r.Tools?.ToList(), r.Documents?.ToList(), addGen, continueFinal, kwargs); }
        catch (TemplateException e) { throw ApiError.BadRequest($"chat template error: {e.Message}", "messages"); }
        catch (ArgumentException e) { throw ApiError.BadRequest(e.Message, "messages"); }
        var images = (r.Messages ?? []).SelectMany(m => m.Content?.ImageUrls ?? []).Select(ImageInput.FromUrl).ToList();
        var clips = (r.Messages ?? []).SelectMany(m => m.Content?.AudioUrls ?? []).Select(AudioInput.FromUrl).ToList();
        var prompt = new PromptInput(null, server.Chat.Tokenize(rendered), images.Count > 0 ? images : null)
        {
            AudioClips = clips.Count > 0 ? clips : null,
            MaxTokensFillContext = (images.Count > 0 || clips.Count > 0) && r.RequestedMaxTokens == null,
        };
        return (prompt, rendered);
    }
}

using Pipeline.Actors.Engine;
using Pipeline.Host.Http;
using Pipeline.Models.ChatTemplates;

namespace Pipeline.Host.Protocol;

/// <summary>A generation request's prompt as the engine's inputs: completion prompts as they are, chat messages rendered and tokenized.</summary>
public static class PromptInputs
{
    public static List<PromptInput> Of(CompletionRequest r) =>
        r.Prompt!.Texts?.Select(PromptInput.FromText).ToList() ?? r.Prompt.TokenLists!.Select(ids => PromptInput.FromIds(ids)).ToList();

    /// <summary>The messages (with tools, documents, chat_template_kwargs) rendered by the chat template and tokenized; 400s name the field.</summary>
    public static int[] Of(ChatCompletionRequest r, ServerContext server) => Rendered(r, server).Ids;

    /// <summary>The rendered prompt and its token ids (reasoning parsers look at how the prompt ends).</summary>
    public static (int[] Ids, string Text) Rendered(ChatCompletionRequest r, ServerContext server)
    {
        if (server.Chat == null) throw ApiError.BadRequest(server.ChatTemplateError ?? "this model has no chat template: start the server with --chat-template", "messages");
        var messages = r.TemplateMessages();
        var kwargs = (r.ChatTemplateKwargs ?? []).ToDictionary(k => k.Key, k => (object?)System.Text.Json.Nodes.JsonNode.Parse(k.Value.GetRawText()));
        bool continueFinal = r.ContinueFinalMessage ?? false;
        bool addGen = r.AddGenerationPrompt ?? !continueFinal;
        string rendered;
        try { rendered = server.Chat.Render(messages, r.Tools?.ToList(), r.Documents?.ToList(), addGen, continueFinal, kwargs); }
        catch (TemplateException e) { throw ApiError.BadRequest($"chat template error: {e.Message}", "messages"); }
        catch (ArgumentException e) { throw ApiError.BadRequest(e.Message, "messages"); }
        return (server.Chat.Tokenize(rendered), rendered);
    }
}

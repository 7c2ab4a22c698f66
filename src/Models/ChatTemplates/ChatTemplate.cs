using System.Text.Json.Nodes;

namespace Pipeline.Models.ChatTemplates;

/// <summary>A Hugging Face chat template, rendered as transformers' apply_chat_template(tokenize=False) does.</summary>
public sealed class ChatTemplate
{
    private readonly JinjaTemplate _template;

    /// <exception cref="TemplateException">The template has a syntax error.</exception>
    public ChatTemplate(string source) => _template = new JinjaTemplate(source);

    /// <summary>Clock used by strftime_now; local time by default.</summary>
    public Func<DateTime> Clock { get; init; } = () => DateTime.Now;

    /// <exception cref="TemplateException">Rendering failed, the template raised an exception, or
    /// continue_final_message was asked for a conversation it cannot apply to.</exception>
    public string Render(ChatTemplateContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        string? finalContent = null;
        if (ctx.ContinueFinalMessage)
        {
            if (ctx.AddGenerationPrompt)
                throw new TemplateException("continue_final_message and add_generation_prompt are not compatible: use continue_final_message to continue the final message, add_generation_prompt to start a new assistant message.");
            finalContent = FinalAssistantText(ctx.Messages);
        }

        var vars = new Dictionary<string, object?>();
        if (ctx.BosToken != null) vars["bos_token"] = ctx.BosToken;
        if (ctx.EosToken != null) vars["eos_token"] = ctx.EosToken;
        foreach (var kv in ctx.Extra) vars[kv.Key] = kv.Value;
        vars["messages"] = ctx.Messages.Select(JsonValues.FromNode).ToList();
        vars["tools"] = ctx.Tools?.Select(JsonValues.FromNode).ToList();
        vars["documents"] = ctx.Documents?.Select(JsonValues.FromNode).ToList();
        vars["add_generation_prompt"] = ctx.AddGenerationPrompt;

        var rendered = _template.Render(vars, Clock);
        return finalContent == null ? rendered : CutAfterFinalMessage(rendered, finalContent);
    }

    private static string FinalAssistantText(IReadOnlyList<JsonNode?> messages)
    {
        if (messages.Count == 0 || messages[^1] is not JsonObject last)
            throw new TemplateException("continue_final_message is set but there is no final message to continue.");
        var role = last["role"] is JsonValue r && r.TryGetValue<string>(out var rs) ? rs : null;
        if (role != "assistant")
            throw new TemplateException($"continue_final_message is set but the final message has role '{role}'; only an assistant message can be continued.");
        switch (last["content"])
        {
            case JsonValue v when v.TryGetValue<string>(out var s):
                return s;
            case JsonArray blocks:
                for (int i = blocks.Count - 1; i >= 0; i--)
                    if (blocks[i] is JsonObject b && b["text"] is JsonValue t && t.TryGetValue<string>(out var text))
                        return text;
                break;
        }
        throw new TemplateException("continue_final_message is set but we could not find any text to continue in the final message.");
    }

    // transformers: cut right after the last occurrence of the final message's content, dropping the
    // end-of-turn tokens the template appends; tolerate templates that trim the content.
    private static string CutAfterFinalMessage(string rendered, string content)
    {
        var stripped = content.Trim();
        if (stripped.Length == 0) return rendered;
        int loc = rendered.LastIndexOf(stripped, StringComparison.Ordinal);
        if (loc < 0)
            throw new TemplateException("continue_final_message is set but the final message does not appear in the chat after applying the chat template. This can happen if the chat template deletes portions of the final message.");
        int n = content.TrimStart().Length;
        var slice = rendered.AsSpan(loc, Math.Min(n, rendered.Length - loc));
        return slice.SequenceEqual(content) ? rendered[..(loc + n)] : rendered[..(loc + stripped.Length)];
    }
}

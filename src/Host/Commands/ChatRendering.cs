using System.Text.Json;
using Pipeline.Actors.Chat;
using Pipeline.Host.Cli;
using Pipeline.Models.ChatTemplates;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Host.Commands;

/// <summary>Renders a JSON file of chat messages with the model's (or a given) chat template.</summary>
public static class ChatRendering
{
    public static string Render(HfTokenizer tok, string messagesFile, string? chatTemplate, bool addGenerationPrompt)
    {
        if (!File.Exists(messagesFile)) throw new CliException($"--messages: no such file '{messagesFile}'");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(messagesFile)); }
        catch (JsonException e) { throw new CliException($"--messages {messagesFile}: not valid JSON ({e.Message})"); }
        using (doc)
        {
            var root = doc.RootElement;
            var messages = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("messages", out var m) ? m : root;
            if (messages.ValueKind != JsonValueKind.Array) throw new CliException($"--messages {messagesFile}: expected a JSON list of messages (or an object with \"messages\")");
            var tools = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("tools", out var t) && t.ValueKind == JsonValueKind.Array ? ChatTemplateContext.Nodes(t) : null;
            return new ChatPromptRenderer(tok, chatTemplate).Render(ChatTemplateContext.Nodes(messages), tools, addGenerationPrompt: addGenerationPrompt);
        }
    }
}

using Pipeline.Host.Cli;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Host.Commands;

/// <summary>Renders chat messages with the model's (or a given) chat template.</summary>
public static class ChatRendering
{
    public static string Render(HfTokenizer tok, string messagesFile, string? chatTemplate, bool addGenerationPrompt) =>
        throw new CliException("chat templates are not available in this build yet");
}

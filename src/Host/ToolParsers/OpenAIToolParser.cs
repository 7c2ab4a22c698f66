namespace Pipeline.Host.ToolParsers;

/// <summary>
/// gpt-oss calls in harmony: a message to <c>functions.NAME</c> (usually on the commentary channel) whose body is the
/// arguments, ended by &lt;|call|&gt; (a stop token, so usually the end of the output). Other messages' bodies are
/// content (analysis too, unless the openai_gptoss reasoning parser took it first).
/// </summary>
public sealed class OpenAIToolParser : ToolParser
{
    public const string FunctionsPrefix = "functions.";

    public override string Name => "openai";
    public override bool KeepsSpecialTokens => true;

    public override ToolParse Parse(string text, bool final, ToolSet tools)
    {
        var b = new ParseBuilder();
        foreach (var m in HarmonyText.Parse(text, final))
        {
            if (m.Recipient == null || !m.Recipient.StartsWith(FunctionsPrefix, StringComparison.Ordinal))
            {
                b.Text(m.Body);
                continue;
            }
            if (!m.Complete) break;
            var name = m.Recipient[FunctionsPrefix.Length..];
            if (tools.Contains(name) && JsonText.TryParse(m.Body, out var args) && JsonText.Arguments(args) is { } argText) b.Call(new(name, argText));
            else b.Text(m.Raw);
        }
        return b.Build(final);
    }
}

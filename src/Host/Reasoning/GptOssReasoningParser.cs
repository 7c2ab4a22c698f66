using System.Text;
using Pipeline.Host.ToolParsers;

namespace Pipeline.Host.Reasoning;

/// <summary>
/// gpt-oss (harmony): the analysis channel is the reasoning; the other messages are left, as harmony text, for the
/// openai tool parser (or, without one, read as content by it).
/// </summary>
public sealed class GptOssReasoningParser : ReasoningParser
{
    public override string Name => "openai_gptoss";
    public override bool KeepsSpecialTokens => true;
    public override ToolParser? ContentParser { get; } = new OpenAIToolParser();

    public override ReasoningSplit Split(string text, bool final, bool startsInReasoning)
    {
        var reasoning = new StringBuilder();
        var rest = new StringBuilder();
        bool ended = false;
        foreach (var m in HarmonyText.Parse(text, final))
        {
            if (m.Channel == "analysis" && m.Recipient == null) reasoning.Append(m.Body);
            else { rest.Append(m.Raw); ended = true; }
        }
        return new(reasoning.ToString(), rest.ToString(), ended);
    }
}

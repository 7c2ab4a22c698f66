using Pipeline.Host.ToolParsers;

namespace Pipeline.Host.Reasoning;

/// <summary>An output split into its thinking and the rest; <see cref="Ended"/> once the thinking is over.</summary>
public sealed record ReasoningSplit(string Reasoning, string Content, bool Ended);

/// <summary>
/// vLLM's ReasoningParser: separates a reasoning model's thinking from its answer. Like the tool parsers,
/// <see cref="Split"/> runs on the whole output (<c>final</c>) and on each longer prefix while streaming, and a partial
/// split is a prefix of every later one (both parts), so streamed reasoning and content add up to the full answer.
/// </summary>
public abstract class ReasoningParser
{
    public abstract string Name { get; }

    /// <summary>Whether the markers are special tokens that must stay in the text.</summary>
    public virtual bool KeepsSpecialTokens => false;

    /// <summary>Whether the rendered prompt leaves the model inside its thinking (a chat template that ends with &lt;think&gt;).</summary>
    public virtual bool PromptOpensReasoning(string prompt) => false;

    /// <summary>The text that ends the thinking, when it is one marker (structured outputs start after it); null otherwise.</summary>
    public virtual string? EndMarker => null;

    /// <summary>Whether the output begins inside the thinking (so a constraint waits for <see cref="EndMarker"/>).</summary>
    public virtual bool OutputStartsInReasoning(bool promptOpensReasoning) => promptOpensReasoning;

    /// <summary>Reads what is left after the thinking when no tool parser does (gpt-oss's harmony messages); null for plain text.</summary>
    public virtual ToolParser? ContentParser => null;

    /// <param name="startsInReasoning">The prompt left the model thinking (<see cref="PromptOpensReasoning"/>).</param>
    public abstract ReasoningSplit Split(string text, bool final, bool startsInReasoning);
}

/// <summary>vLLM's ReasoningParserManager: the parsers by name.</summary>
public static class ReasoningParserManager
{
    static readonly Dictionary<string, Func<ReasoningParser>> Parsers = new(StringComparer.Ordinal)
    {
        ["deepseek_r1"] = () => new ThinkTagReasoningParser("deepseek_r1", ["<think>"], ["</think>"], alwaysStartsInReasoning: true),
        ["qwen3"] = () => new ThinkTagReasoningParser("qwen3", ["<think>"], ["</think>"], alwaysStartsInReasoning: false),
        ["granite"] = () => new ThinkTagReasoningParser("granite",
            ["Here is my thought process:", "Here's my thought process:"], ["Here is my response:", "Here's my response:"], alwaysStartsInReasoning: false),
        ["openai_gptoss"] = () => new GptOssReasoningParser(),
    };

    public static IReadOnlyCollection<string> Names => Parsers.Keys;

    public static ReasoningParser Get(string name) => Parsers.TryGetValue(name, out var make) ? make()
        : throw new ArgumentException($"unknown reasoning parser '{name}' (one of {string.Join(", ", Parsers.Keys)})");
}

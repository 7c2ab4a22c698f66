using System.Text;
using Pipeline.Host.Reasoning;
using Pipeline.Host.ToolParsers;

namespace Pipeline.Host.Protocol;

/// <summary>A call with the id it is answered under.</summary>
public sealed record IdentifiedToolCall(string Id, string Name, string Arguments);

/// <summary>What one output adds: thinking, answer text and the calls found since the last time.</summary>
public sealed record ChatOutputDelta(string Reasoning, string Content, IReadOnlyList<IdentifiedToolCall> Calls)
{
    public bool IsEmpty => Reasoning.Length == 0 && Content.Length == 0 && Calls.Count == 0;
}

/// <summary>
/// One choice's output read as the request asks: the reasoning parser takes the thinking off first, then the tool
/// parser reads the rest (vLLM's order). Streamed, each <see cref="Append"/> gives what is new; because the parsers'
/// partial answers are prefixes of their final one, the deltas add up to exactly what <see cref="Parse"/> gives for the
/// whole text. Model output never makes it throw.
/// </summary>
/// <param name="maxCalls">1 when the request says parallel_tool_calls: false (later calls are left out, as vLLM does).</param>
public sealed class ChatOutputParser(ReasoningParser? reasoning, ToolParser? tools, ToolSet toolSet, bool startsInReasoning, int maxCalls = int.MaxValue)
{
    readonly StringBuilder _text = new();
    readonly List<IdentifiedToolCall> _calls = new();
    int _sentReasoning, _sentContent;

    /// <summary>Whether anything is parsed at all (a request without parsers passes text through).</summary>
    public bool IsActive => reasoning != null || tools != null;

    /// <summary>The calls found so far, with their ids.</summary>
    public IReadOnlyList<IdentifiedToolCall> Calls => _calls;

    /// <summary>The whole output: reasoning (null when there is none), content (null when empty and there are calls), calls.</summary>
    public (string? Reasoning, string? Content, IReadOnlyList<IdentifiedToolCall> Calls) Parse(string text)
    {
        var (r, parse) = Read(text, final: true);
        var calls = parse.Calls.Take(maxCalls).Select(c => new IdentifiedToolCall(NewId(), c.Name, c.Arguments)).ToList();
        string? content = parse.Content.Length == 0 && (calls.Count > 0 || r != null) ? null : parse.Content;
        return (r is { Length: > 0 } ? r : null, content, calls);
    }

    /// <summary>Adds streamed text; <paramref name="final"/> on the last piece of the output.</summary>
    public ChatOutputDelta Append(string delta, bool final)
    {
        _text.Append(delta);
        var (r, parse) = Read(_text.ToString(), final);
        r ??= "";
        var reasoningDelta = r.Length > _sentReasoning ? r[_sentReasoning..] : "";
        _sentReasoning = Math.Max(_sentReasoning, r.Length);
        var contentDelta = parse.Content.Length > _sentContent ? parse.Content[_sentContent..] : "";
        _sentContent = Math.Max(_sentContent, parse.Content.Length);
        var added = new List<IdentifiedToolCall>();
        for (int i = _calls.Count; i < Math.Min(parse.Calls.Count, maxCalls); i++)
        {
            var call = new IdentifiedToolCall(NewId(), parse.Calls[i].Name, parse.Calls[i].Arguments);
            _calls.Add(call);
            added.Add(call);
        }
        return new(reasoningDelta, contentDelta, added);
    }

    (string? Reasoning, ToolParse Parse) Read(string text, bool final)
    {
        string? r = null;
        var rest = text;
        if (reasoning != null)
        {
            var split = reasoning.Split(text, final, startsInReasoning);
            r = split.Reasoning;
            rest = split.Content;
        }
        var parser = tools ?? reasoning?.ContentParser;
        return (r, parser == null ? new ToolParse(rest, []) : parser.Parse(rest, final, toolSet));
    }

    string NewId() => (tools ?? reasoning?.ContentParser)?.NewCallId() ?? ToolCallIds.Random();
}

namespace Pipeline.Host.ToolParsers;

/// <summary>One function call found in the model's output: the function's name and its arguments as JSON text.</summary>
public sealed record ParsedToolCall(string Name, string Arguments);

/// <summary>What a tool parser made of an output: the text that is content, and the calls, in order.</summary>
public sealed record ToolParse(string Content, IReadOnlyList<ParsedToolCall> Calls)
{
    public static ToolParse Nothing { get; } = new("", []);
}

/// <summary>
/// vLLM's ToolParser: finds the tool calls in a model's output. <see cref="Parse"/> is called on the whole output
/// (<c>final</c>) and, while streaming, on each longer prefix of it. A partial result must be a prefix of every later
/// result, content and calls alike: so a parser holds back what is undecided (a suffix that may begin a call marker,
/// a call not closed yet) and streaming, which sends what is new each time, ends with exactly the non-streamed answer.
/// A call is returned only when it is complete and names a requested tool; anything else, malformed or cut off,
/// stays content. Parsers never throw on model output.
/// </summary>
public abstract class ToolParser
{
    /// <summary>The name given to --tool-call-parser.</summary>
    public abstract string Name { get; }

    /// <summary>Whether the format's markers are special tokens that must stay in the text (vLLM's adjust_request sets skip_special_tokens=false).</summary>
    public virtual bool KeepsSpecialTokens => false;

    public abstract ToolParse Parse(string text, bool final, ToolSet tools);

    /// <summary>A new call id: vLLM's chatcmpl-tool-... (Mistral's templates want 9 alphanumerics, so its parser says otherwise).</summary>
    public virtual string NewCallId() => ToolCallIds.Random();
}

/// <summary>vLLM's ToolParserManager: the parsers by name.</summary>
public static class ToolParserManager
{
    static readonly Dictionary<string, Func<ToolParser>> Parsers = new(StringComparer.Ordinal)
    {
        ["hermes"] = () => new HermesToolParser(),
        ["qwen3_coder"] = () => new Qwen3CoderToolParser(),
        ["llama3_json"] = () => new Llama3JsonToolParser(),
        ["llama4_json"] = () => new Llama3JsonToolParser(),
        ["mistral"] = () => new MistralToolParser(),
        ["pythonic"] = () => new PythonicToolParser(),
        ["llama4_pythonic"] = () => new PythonicToolParser(),
        ["deepseek_v3"] = () => new DeepSeekV3ToolParser(),
        ["deepseek_v31"] = () => new DeepSeekV3ToolParser(),
        ["openai"] = () => new OpenAIToolParser(),
    };

    public static IReadOnlyCollection<string> Names => Parsers.Keys;

    public static ToolParser Get(string name) => Parsers.TryGetValue(name, out var make) ? make()
        : throw new ArgumentException($"unknown tool call parser '{name}' (one of {string.Join(", ", Parsers.Keys)})");
}

public static class ToolCallIds
{
    /// <summary>vLLM's id for a tool call: chatcmpl-tool- and 32 hex digits.</summary>
    public static string Random() => "chatcmpl-tool-" + Guid.NewGuid().ToString("N");

    /// <summary>Nine letters and digits, as Mistral's chat templates require of tool call ids.</summary>
    public static string Alphanumeric9()
    {
        const string chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        return string.Create(9, 0, (span, _) => { for (int i = 0; i < span.Length; i++) span[i] = chars[System.Security.Cryptography.RandomNumberGenerator.GetInt32(chars.Length)]; });
    }
}

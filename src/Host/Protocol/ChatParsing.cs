using Pipeline.Host.Http;
using Pipeline.Host.Reasoning;
using Pipeline.Host.ToolParsers;
using Pipeline.Models.Sampling;

namespace Pipeline.Host.Protocol;

/// <summary>The server's tool-calling and reasoning settings: --enable-auto-tool-choice, --tool-call-parser, --reasoning-parser.</summary>
public sealed record ChatParsingOptions(bool EnableAutoToolChoice = false, string? ToolCallParser = null, string? ReasoningParser = null)
{
    public static ChatParsingOptions None { get; } = new();

    /// <summary>Checks the names at startup (an unknown parser is an error before the model loads).</summary>
    public ChatParsingOptions Validate()
    {
        if (EnableAutoToolChoice && ToolCallParser == null)
            throw new ArgumentException("--enable-auto-tool-choice needs --tool-call-parser NAME (one of " + string.Join(", ", ToolParserManager.Names) + ")");
        if (ToolCallParser != null) ToolParserManager.Get(ToolCallParser);
        if (ReasoningParser != null) ReasoningParserManager.Get(ReasoningParser);
        return this;
    }
}

/// <summary>
/// How one chat request's output is read: its tools and tool_choice, the server's parsers, and what that asks of
/// sampling (special tokens kept for formats made of them; for tool_choice "required" or a named function, a JSON
/// schema constraint so the call always parses).
/// </summary>
public sealed class ChatParsing
{
    public required ToolSet Tools { get; init; }
    public required ToolChoice Choice { get; init; }
    public ReasoningParser? Reasoning { get; init; }
    /// <summary>The parser of the answer: the server's for "auto", the JSON readers for "required" and named; null for "none".</summary>
    public ToolParser? ToolParser { get; init; }
    public bool StartsInReasoning { get; init; }
    /// <summary>The JSON schema that enforces "required" or a named function, or null.</summary>
    public string? ConstraintSchema { get; init; }
    /// <summary>parallel_tool_calls: false keeps only the first call.</summary>
    public bool ParallelToolCalls { get; init; } = true;

    public static ChatParsing For(ChatCompletionRequest r, ChatParsingOptions options, string? renderedPrompt = null)
    {
        var tools = ToolSet.From(r.Tools);
        var choice = ToolChoice.From(r.ToolChoice, tools);
        ToolParser? parser = null;
        switch (choice.Mode)
        {
            case ToolChoiceMode.Auto:
                if (tools.Count == 0) break;
                if (!options.EnableAutoToolChoice || options.ToolCallParser == null)
                    throw ApiError.BadRequest("\"auto\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set", "tool_choice");
                parser = ToolParserManager.Get(options.ToolCallParser);
                break;
            case ToolChoiceMode.Required: parser = new RequiredToolChoiceParser(); break;
            case ToolChoiceMode.Named: parser = new NamedToolChoiceParser(choice.FunctionName!); break;
        }
        var reasoning = options.ReasoningParser is { } rp ? ReasoningParserManager.Get(rp) : null;
        return new ChatParsing
        {
            Tools = tools,
            Choice = choice,
            Reasoning = reasoning,
            ToolParser = parser,
            StartsInReasoning = reasoning != null && renderedPrompt != null && reasoning.PromptOpensReasoning(renderedPrompt),
            ConstraintSchema = ToolChoiceSchema.For(choice, tools, r.ParallelToolCalls ?? true),
            ParallelToolCalls = r.ParallelToolCalls ?? true,
        };
    }

    public ChatOutputParser NewParser() => new(Reasoning, ToolParser, Tools, StartsInReasoning, ParallelToolCalls ? int.MaxValue : 1);

    /// <summary>
    /// Sampling as the parsers need it: special tokens kept when a format is made of them (unless the request set
    /// skip_special_tokens itself), the tool_choice constraint (see <see cref="ConstraintSchema"/>), and any
    /// constraint held back until the thinking ends when the output starts inside it (vLLM's order).
    /// </summary>
    public SamplingParams Adjust(SamplingParams sp, bool requestSetSkipSpecialTokens, Func<string, int[]>? encode)
    {
        bool keep = (ToolParser?.KeepsSpecialTokens ?? false) || (Reasoning?.KeepsSpecialTokens ?? false);
        if (keep && !requestSetSkipSpecialTokens) sp = sp with { SkipSpecialTokens = false };
        sp = ToolChoiceConstraint.Apply(sp, ConstraintSchema);
        if (sp.StructuredOutputs is { } so && encode != null && Reasoning is { EndMarker: { } end } r && r.OutputStartsInReasoning(StartsInReasoning))
            sp = sp with { StructuredOutputs = so with { StartAfterTokenIds = encode(end) } };
        return sp;
    }

    /// <summary>The served model's tokenizer as a marker encoder (null without one).</summary>
    public static Func<string, int[]>? Encoder(ServerContext server) =>
        server.Model.Tokenizer is { } tok ? text => tok.Encode(text, addSpecialTokens: false) : null;

    /// <summary>finish_reason "tool_calls" when the model stopped after calling tools (OpenAI's; a named function choice keeps "stop", as OpenAI does).</summary>
    public string? FinishReason(string? engineReason, bool calledTools) =>
        calledTools && engineReason == "stop" && Choice.Mode != ToolChoiceMode.Named ? "tool_calls" : engineReason;
}

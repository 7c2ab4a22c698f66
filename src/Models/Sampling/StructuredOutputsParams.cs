using Pipeline.Models.StructuredOutputs;

namespace Pipeline.Models.Sampling;

/// <summary>
/// What a request's output must match (vLLM's StructuredOutputsParams): exactly one of a JSON schema, any JSON object,
/// a regex, one of several choices, or a grammar (GBNF or a Lark subset). <see cref="Key"/> identifies the constraint,
/// so equal constraints share one compiled grammar.
/// </summary>
public sealed record StructuredOutputsParams
{
    /// <summary>A JSON schema, as JSON text.</summary>
    public string? Json { get; init; }
    public bool JsonObject { get; init; }
    public string? Regex { get; init; }
    public IReadOnlyList<string>? Choice { get; init; }
    public string? Grammar { get; init; }
    /// <summary>
    /// Reasoning models: the constraint starts once the output has these tokens (the end of the thinking, such as
    /// &lt;/think&gt;), as vLLM starts it when the reasoning parser says the reasoning ended. Not part of <see cref="Key"/>.
    /// </summary>
    public IReadOnlyList<int>? StartAfterTokenIds { get; init; }

    public string Kind => Json != null ? "json" : JsonObject ? "json_object" : Regex != null ? "regex" : Choice != null ? "choice" : Grammar != null ? "grammar" : "none";

    public string Key => Kind switch
    {
        "json" => "json:" + Json,
        "json_object" => "json_object",
        "regex" => "regex:" + Regex,
        "choice" => "choice:" + string.Join("\u0000", Choice!.Select(c => c.Length + ":" + c)),
        "grammar" => "grammar:" + Grammar,
        _ => "none",
    };

    public int NumConstraints => (Json != null ? 1 : 0) + (JsonObject ? 1 : 0) + (Regex != null ? 1 : 0) + (Choice != null ? 1 : 0) + (Grammar != null ? 1 : 0);

    /// <summary>Compiles the constraint (cached); throws <see cref="GrammarException"/> naming what is not supported.</summary>
    public Grammar Compile() => StructuredOutputCompiler.Compile(this);
}

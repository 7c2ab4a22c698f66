using Pipeline.Host.Http;
using Pipeline.Models.Sampling;
using Pipeline.Models.StructuredOutputs;

namespace Pipeline.Host.Protocol;

/// <summary>
/// tool_choice "required" and named functions are enforced as vLLM enforces them: the output is constrained to
/// <see cref="ToolParsers.ToolChoiceSchema"/>'s JSON schema through structured outputs, so the call always parses.
/// </summary>
public static class ToolChoiceConstraint
{
    public static SamplingParams Apply(SamplingParams sp, string? schema)
    {
        if (schema == null) return sp;
        if (sp.StructuredOutputs != null)
            throw ApiError.BadRequest("tool_choice \"required\" or a named function cannot be combined with response_format or structured_outputs: both constrain the answer", "tool_choice");
        var constraint = new StructuredOutputsParams { Json = schema };
        try { constraint.Compile(); }
        catch (GrammarException e) { throw ApiError.BadRequest($"tools: the function parameters cannot be enforced for tool_choice: {e.Message}", "tools"); }
        return sp with { StructuredOutputs = constraint };
    }
}

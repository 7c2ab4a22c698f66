using Pipeline.Models.Sampling;

namespace Pipeline.Host.Protocol;

/// <summary>
/// The seam to structured outputs (issue 17 part 1): tool_choice "required" and named functions are enforced by
/// constraining the output to <see cref="ToolParsers.ToolChoiceSchema"/>'s JSON schema, as vLLM does.
/// </summary>
public static class ToolChoiceConstraint
{
    public static SamplingParams Apply(SamplingParams sp, string? schema)
    {
        if (schema == null) return sp;
        // TODO(issue 17 part 1): once SamplingParams.StructuredOutputs lands, set
        //   sp with { StructuredOutputs = new StructuredOutputsParams { Json = schema } }
        // (and refuse a request that also carries response_format / structured_outputs). Until then the model is only
        // asked, through the chat template, and an answer that is not the expected JSON comes back as content.
        return sp;
    }
}

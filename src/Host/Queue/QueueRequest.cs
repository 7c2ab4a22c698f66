using Pipeline.Actors.Engine;
using Pipeline.Models.Sampling;

namespace Pipeline.Host.Queue;

/// <summary>A request message, validated: what to run and where its events go besides the topic exchange.</summary>
/// <param name="Parsing">How a chat request's output is read into reasoning, content and tool calls (null for completions).</param>
/// <param name="Speech">A transcription or translation message: its audio and fields (Prompt and SamplingParams are then unused).</param>
public sealed record QueueRequest(string RequestId, PromptInput Prompt, SamplingParams SamplingParams, int Priority, string? ReplyTo, string? CorrelationId,
    Pipeline.Host.Protocol.ChatParsing? Parsing = null, Pipeline.Models.Lora.LoRARequest? Lora = null, QueueSpeech? Speech = null);

/// <summary>An audio message's work: the decoded `file` bytes, the speech-to-text parameters and the response_format of the final's `response`.</summary>
public sealed record QueueSpeech(byte[] Audio, Pipeline.Actors.Speech.SpeechToTextParams Params, string ResponseFormat);

/// <summary>A message that can never succeed (unparseable or invalid): it goes to the dead-letter queue with this reason.</summary>
public sealed class PoisonMessageException(string reason, string? requestId = null) : Exception(reason)
{
    public string? RequestId { get; } = requestId;
}

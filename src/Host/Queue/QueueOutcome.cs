namespace Pipeline.Host.Queue;

/// <summary>
/// How running a queue request ended: its final event to publish (with the counts the metrics take), an error for the
/// request's followers and the dead-letter queue, or aborted (overloaded or shutting down: requeued).
/// </summary>
/// <param name="Counted">The metrics already counted the request's engine requests (the speech path's runs do).</param>
sealed record QueueOutcome(Func<int, byte[]>? Final, int PromptTokens = 0, int CompletionTokens = 0, string FinishReason = "stop", double? Ttft = null,
    bool Counted = false, bool Aborted = false, string? Error = null, int Status = 400)
{
    public static readonly QueueOutcome Abort = new(null, Aborted: true);

    public static QueueOutcome Failed(string error, int status = 400) => new(null, Error: error, Status: status);
}

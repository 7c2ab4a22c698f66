namespace Pipeline.Actors.Engine;

/// <summary>Where a request is in its life (vLLM's RequestStatus). The Finished* values are terminal.</summary>
public enum RequestStatus
{
    Waiting,
    Running,
    Preempted,
    FinishedStopped,
    FinishedLength,
    FinishedAborted,
    FinishedError,
}

/// <summary>Why a request finished, as reported to clients (vLLM's FinishReason: stop, length, abort, error).</summary>
public enum FinishReason { Stop, Length, Abort, Error }

public static class RequestStatusExtensions
{
    public static bool IsFinished(this RequestStatus status) => status >= RequestStatus.FinishedStopped;

    /// <summary>The client-facing finish reason of a terminal status; null while the request is unfinished.</summary>
    public static FinishReason? ToFinishReason(this RequestStatus status) => status switch
    {
        RequestStatus.FinishedStopped => FinishReason.Stop,
        RequestStatus.FinishedLength => FinishReason.Length,
        RequestStatus.FinishedAborted => FinishReason.Abort,
        RequestStatus.FinishedError => FinishReason.Error,
        _ => null,
    };

    /// <summary>OpenAI-style name: "stop", "length", "abort", "error".</summary>
    public static string ToApiString(this FinishReason reason) => reason switch
    {
        FinishReason.Stop => "stop",
        FinishReason.Length => "length",
        FinishReason.Abort => "abort",
        _ => "error",
    };
}

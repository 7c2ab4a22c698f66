namespace Pipeline.Host.Protocol;

/// <summary>The answer of /version.</summary>
public sealed record VersionResponse(string Version);

/// <summary>The answer of POST /v1/queue/requests: the message is on the request queue under this id.</summary>
public sealed record QueueAccepted(string RequestId, string Queue);

using System.Text.Json.Serialization;

namespace Pipeline.Host.Protocol;

/// <summary>OpenAI's error shape: {"error": {"message", "type", "param", "code"}}.</summary>
public sealed record ErrorResponse(ErrorInfo Error);

public sealed record ErrorInfo(string Message, string Type, [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Param, int Code);

/// <summary>An error inside an SSE stream that had already begun: no param.</summary>
public sealed record StreamErrorResponse(StreamErrorInfo Error);

public sealed record StreamErrorInfo(string Message, string Type, int Code);

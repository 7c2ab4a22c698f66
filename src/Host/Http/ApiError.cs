using System.Text.Json;
using Pipeline.Host.Protocol;

namespace Pipeline.Host.Http;

/// <summary>An error answered in OpenAI's JSON shape with an HTTP status; the message names the problem.</summary>
public sealed class ApiError(int status, string message, string? param = null, string? type = null) : Exception(message)
{
    public int Status { get; } = status;
    public string? Param { get; } = param;
    public string Type { get; } = type ?? status switch
    {
        400 => "BadRequestError",
        401 => "AuthenticationError",
        404 => "NotFoundError",
        413 => "RequestTooLargeError",
        429 => "RateLimitError",
        503 => "ServiceUnavailableError",
        _ => "InternalServerError",
    };

    public static ApiError BadRequest(string message, string? param = null) => new(400, message, param);

    /// <summary>404 unless the request names no model or the served one.</summary>
    public static void CheckModel(string? requested, string served)
    {
        if (requested != null && requested != served)
            throw new ApiError(404, $"The model `{requested}` does not exist. Served model: `{served}`.", "model", "NotFoundError");
    }

    public static Task Write(HttpResponse response, int status, string message, string? param, string type) =>
        Json.WriteAsync(response, new ErrorResponse(new ErrorInfo(message, type, param, status)), ProtocolJson.Default.ErrorResponse, status);
}

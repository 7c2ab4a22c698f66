using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Host.Http;

namespace Pipeline.Host.Protocol;

/// <summary>
/// Reads a request body into its protocol type for HTTP and the queue alike: field types and rules checked with the
/// field named, and fields the type does not know either logged (one warning per request, as vLLM does) or, with
/// --strict-request-fields, refused with a 400 naming them.
/// </summary>
public sealed class RequestReader(bool strictFields, ILogger logger)
{
    public static readonly RequestReader Lenient = new(false, NullLogger.Instance);

    public bool StrictFields => strictFields;

    /// <param name="envelopeFields">Fields the carrier itself reads (the queue's request_id, reply_to, ...): known, though not the type's.</param>
    public T Read<T>(JsonElement body, string requestId, IReadOnlyCollection<string>? envelopeFields = null) where T : ProtocolMessage
    {
        var request = Deserialize<T>(body);
        var unknown = (request.UnknownFields?.Keys ?? Enumerable.Empty<string>()).Where(k => envelopeFields?.Contains(k) != true).ToList();
        if (unknown.Count > 0)
        {
            var names = string.Join(", ", unknown);
            if (strictFields) throw ApiError.BadRequest($"unknown field(s) in the request: {names} (the server runs with --strict-request-fields)", unknown[0]);
            logger.LogWarning("request {RequestId}: ignored unknown field(s) in the request: {Fields}", requestId, names);
        }
        request.Validate();
        return request;
    }

    /// <summary>The typed message with its field types checked; unknown fields are kept, not judged, and the rules are not run.</summary>
    public static T Deserialize<T>(JsonElement body) where T : ProtocolMessage
    {
        if (body.ValueKind != JsonValueKind.Object) throw ApiError.BadRequest("the request body must be a JSON object");
        try { return (T)(body.Deserialize(ProtocolJson.Default.GetTypeInfo(typeof(T))!) ?? throw ApiError.BadRequest("the request body must be a JSON object")); }
        catch (JsonException e) { throw FieldErrors.From(e, typeof(T)); }
    }
}

using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Host.Protocol;

namespace Pipeline.Host.Tests.Fuzz;

/// <summary>
/// One generated request. <see cref="Field"/> is the top-level field the case broke: a refusal must name it (in the error's
/// param or message). Null when the body as a whole is broken (not JSON, wrong content type, cut off).
/// <see cref="QueueId"/> is the request id of a message put on the queue, to follow afterwards.
/// </summary>
public sealed record FuzzCase(int Index, string Method, string Path, byte[]? Body, string? ContentType, string? Field, string Kind, string? QueueId = null)
{
    public string Describe() =>
        $"#{Index} {Kind} {Method} {Path} field={Field ?? "-"} ct={ContentType ?? "-"} body={(Body == null ? "-" : Preview(Body))}";

    static string Preview(byte[] b)
    {
        var s = Encoding.UTF8.GetString(b, 0, Math.Min(b.Length, 300));
        return b.Length > 300 ? $"{s}... ({b.Length} bytes)" : s;
    }
}

/// <summary>
/// Generates requests for every HTTP route of a generation server: for each POST route a valid base body with one field
/// (every field of the route's protocol type, read from the source-generated JSON metadata, and every field of a chat
/// message) set to a hostile value, plus unknown fields, bodies that are not JSON or not an object, cut-off bodies,
/// wrong content types, oversized bodies, and GET routes with hostile paths and query values. Deterministic for a seed.
/// </summary>
public sealed class RequestFuzzer
{
    sealed record Route(string Path, Type Type, string Base);

    static readonly Route[] PostRoutes =
    [
        new("/v1/completions", typeof(CompletionRequest), """{"prompt":"hi","max_tokens":2}"""),
        new("/v1/chat/completions", typeof(ChatCompletionRequest), """{"messages":[{"role":"user","content":"hi"}],"max_tokens":2}"""),
        new("/tokenize", typeof(TokenizeRequest), """{"prompt":"hi"}"""),
        new("/detokenize", typeof(DetokenizeRequest), """{"tokens":[1,2,3]}"""),
        new("/v1/queue/requests", typeof(CompletionRequest), """{"prompt":"hi","max_tokens":2}"""),
        new("/v1/embeddings", typeof(EmbeddingRequest), """{"input":"hi"}"""),
        new("/pooling", typeof(EmbeddingRequest), """{"input":"hi"}"""),
        new("/classify", typeof(ClassifyRequest), """{"input":"hi"}"""),
        new("/score", typeof(ScoreRequest), """{"text_1":"a","text_2":"b"}"""),
        new("/v1/rerank", typeof(RerankRequest), """{"query":"a","documents":["b"]}"""),
    ];
    static readonly string[] GetPaths = ["/health", "/version", "/v1/models", "/metrics"];
    static readonly string[] ContentTypes = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "image/png", "application/json; charset=latin1", "", "application/jsonx"];

    readonly Random _random;
    readonly HostileJson _json;
    readonly long _maxBodyBytes;
    int _next;

    public RequestFuzzer(int seed, long maxBodyBytes)
    {
        _random = new Random(seed);
        _json = new HostileJson(_random);
        _maxBodyBytes = maxBodyBytes;
    }

    static IReadOnlyList<string> FieldsOf(Type t) =>
        ProtocolJson.Default.GetTypeInfo(t)!.Properties.Where(p => !p.IsExtensionData).Select(p => p.Name).ToList();

    static readonly IReadOnlyList<string> MessageFields = FieldsOf(typeof(ChatMessage));
    static readonly IReadOnlyList<string> QueueFields = FieldsOf(typeof(QueueEnvelope)).Concat(FieldsOf(typeof(CompletionRequest))).Distinct().ToList();

    public FuzzCase Next()
    {
        int i = _next++;
        int roll = _random.Next(100);
        if (roll < 4) return Get(i);
        var route = PostRoutes[_random.Next(PostRoutes.Length)];
        bool queue = route.Path == "/v1/queue/requests";
        var fields = queue ? QueueFields : FieldsOf(route.Type);
        var body = JsonNode.Parse(route.Base)!.AsObject();
        string? queueId = queue ? $"fz-{i}" : null;
        if (queue) body["request_id"] = queueId;
        if (roll < 52) // one field of the type set to a hostile JSON value
        {
            var field = fields[_random.Next(fields.Count)];
            if (field == "request_id") queueId = null;
            return Post(i, route, "field", field, WithField(body, field, o => _json.Value(o)), queueId: queueId);
        }
        if (roll < 60 && route.Path == "/v1/chat/completions") // a field of a chat message
        {
            var field = MessageFields[_random.Next(MessageFields.Count)];
            var message = new JsonObject { ["role"] = "user", ["content"] = "hi" };
            var raw = WithField(message, field, o => _json.Value(o));
            body.Remove("messages");
            return Post(i, route, "message-field", "messages", WithField(body, "messages", o => { HostileJson.Write(o, "["); o.Write(raw); HostileJson.Write(o, "]"); }));
        }
        if (roll < 66) // one field set to something that is not JSON: the body is refused as a whole
        {
            var field = fields[_random.Next(fields.Count)];
            return Post(i, route, "broken-field", null, WithField(body, field, o => _json.Broken(o)));
        }
        if (roll < 70) // an unknown field: ignored (lenient) or refused naming it
        {
            var name = "x_" + _random.Next(1000);
            return Post(i, route, "unknown-field", name, WithField(body, name, o => _json.Value(o)), queueId: queueId);
        }
        if (roll < 76) // cut off
        {
            var full = WithField(body, fields[_random.Next(fields.Count)], o => _json.Value(o));
            return Post(i, route, "truncated", null, full[..Math.Max(0, full.Length - 1 - _random.Next(Math.Max(1, full.Length - 1)))]);
        }
        if (roll < 82) // not an object
        {
            var o = new MemoryStream();
            if (_random.Next(3) == 0) _json.Deep(o, _random.Next(10, 5000));
            else _json.Value(o, 2);
            return Post(i, route, "not-object", null, o.ToArray());
        }
        if (roll < 84) return Post(i, route, "empty", null, []);
        if (roll < 92) // a valid body under a wrong content type
            return Post(i, route, "content-type", null, Encoding.UTF8.GetBytes(body.ToJsonString()), ContentTypes[_random.Next(ContentTypes.Length)]);
        if (roll < 93) // larger than the server's limit
        {
            var big = Encoding.UTF8.GetBytes("{\"prompt\":\"" + new string('a', (int)_maxBodyBytes + 10) + "\"}");
            return Post(i, route, "oversized", null, big);
        }
        // a wrong method on a POST route, or a random path
        return _random.Next(2) == 0
            ? new FuzzCase(i, "GET", route.Path, null, null, null, "wrong-method")
            : new FuzzCase(i, "POST", "/v1/" + RandomSegment(), Encoding.UTF8.GetBytes(route.Base), "application/json", null, "no-route");
    }

    FuzzCase Get(int i)
    {
        switch (_random.Next(3))
        {
            case 0: return new FuzzCase(i, "GET", GetPaths[_random.Next(GetPaths.Length)], null, null, null, "get");
            case 1:
                // A follower of an id never seen, with a hostile id or wait value (a valid id waits at most a moment).
                string[] waits = ["0", "0.05", "-1", "NaN", "Infinity", "-Infinity", "1e309", "abc", "0x10", "-0"];
                var id = _random.Next(3) == 0 ? Uri.EscapeDataString(RandomSegment()) : $"never-{i}";
                return new FuzzCase(i, "GET", $"/v1/streams/{id}?wait={Uri.EscapeDataString(waits[_random.Next(waits.Length)])}", null, null, null, "stream-follow");
            default: return new FuzzCase(i, "GET", "/" + RandomSegment(), null, null, null, "no-route");
        }
    }

    string RandomSegment()
    {
        string[] parts = ["..", "%2e%2e", "a b", "%00", "\u00e9", "%ff%fe", "x".PadRight(300, 'x'), "v1", "completions", "%C0%AF", ";", "?", "#"];
        return string.Concat(Enumerable.Range(0, _random.Next(1, 4)).Select(_ => parts[_random.Next(parts.Length)]));
    }

    FuzzCase Post(int i, Route route, string kind, string? field, byte[] body, string? contentType = "application/json", string? queueId = null) =>
        new(i, "POST", route.Path, body, contentType, field, kind, queueId);

    /// <summary>The object's members without <paramref name="field"/>, then the field with a value written as raw bytes.</summary>
    static byte[] WithField(JsonObject obj, string field, Action<MemoryStream> value)
    {
        var o = new MemoryStream();
        HostileJson.Write(o, "{");
        bool first = true;
        foreach (var (k, v) in obj)
        {
            if (k == field) continue;
            if (!first) HostileJson.Write(o, ",");
            first = false;
            HostileJson.Write(o, JsonSerializer.Serialize(k) + ":" + (v?.ToJsonString() ?? "null"));
        }
        if (!first) HostileJson.Write(o, ",");
        HostileJson.Write(o, JsonSerializer.Serialize(field) + ":");
        value(o);
        HostileJson.Write(o, "}");
        return o.ToArray();
    }
}

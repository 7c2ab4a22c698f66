using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Pipeline.Host.Protocol;
using Prometheus;

namespace Pipeline.Host.Http;

/// <summary>The OpenAI-compatible routes, request ids, the API key check, and errors in OpenAI's shape.</summary>
public static class ApiServer
{
    /// <summary>Request ids, the API key check on /v1 routes, and every failure as an OpenAI-shaped error.</summary>
    public static void UseApiConventions(WebApplication app, string? apiKey)
    {
        app.Use(async (http, next) =>
        {
            var id = http.Request.Headers["X-Request-Id"].FirstOrDefault();
            if (string.IsNullOrWhiteSpace(id) || id.Length > 128) id = Guid.NewGuid().ToString("N");
            http.Items["request-id"] = id;
            http.Response.Headers["X-Request-Id"] = id;
            try
            {
                if (apiKey != null && http.Request.Path.StartsWithSegments("/v1")
                    && http.Request.Headers.Authorization.FirstOrDefault() != $"Bearer {apiKey}")
                    throw new ApiError(401, "Unauthorized: a valid API key is required (Authorization: Bearer KEY)");
                await next(http);
            }
            catch (ApiError e) when (!http.Response.HasStarted) { await ApiError.Write(http.Response, e.Status, e.Message, e.Param, e.Type); }
            catch (JsonException e) when (!http.Response.HasStarted) { await ApiError.Write(http.Response, 400, $"invalid JSON body: {e.Message}", null, "BadRequestError"); }
            catch (BadHttpRequestException e) when (!http.Response.HasStarted)
            {
                int status = e.StatusCode == 413 ? 413 : 400;
                await ApiError.Write(http.Response, status, status == 413 ? "request body too large" : $"bad request: {e.Message}", null, status == 413 ? "RequestTooLargeError" : "BadRequestError");
            }
            catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested) { }
            catch (Exception e) when (!http.Response.HasStarted)
            {
                app.Logger.LogError(e, "request {RequestId} failed", id);
                await ApiError.Write(http.Response, 500, $"internal error (request id {id}): {e.Message}", null, "InternalServerError");
            }
        });

    }

    public static void Map(WebApplication app, Func<ServerContext?> server)
    {
        ServerContext Ready() => server() ?? throw new ApiError(503, "the engine is still starting");

        app.MapGet("/health", async http =>
        {
            var s = server();
            if (s == null || !s.Engine.Accepting) { http.Response.StatusCode = 503; return; }
            if (!s.Engine.Health.IsHealthy)
            {
                // vLLM answers an empty 200 or 503; the reason is extra, for people and probes that log bodies.
                await ApiError.Write(http.Response, 503, "unhealthy: " + string.Join("; ", s.Engine.Health.Reasons), null, "ServiceUnavailableError");
                return;
            }
            try { await s.Engine.GetStatsAsync().WaitAsync(TimeSpan.FromSeconds(5)); http.Response.StatusCode = 200; }
            catch (Exception) { http.Response.StatusCode = 503; }
        });
        MapVersion(app);
        app.MapGet("/v1/models", http =>
        {
            var s = Ready();
            var modalities = new[] { "text" }
                .Concat(Pipeline.Actors.Multimodal.MultiModalSupport.TakesImages(s.Model) ? ["image"] : Array.Empty<string>())
                .Concat(Pipeline.Actors.Multimodal.MultiModalSupport.TakesAudio(s.Model) ? ["audio"] : Array.Empty<string>()).ToArray();
            var card = new ModelCard
            {
                Id = s.ServedModelName, Created = s.Started.ToUnixTimeSeconds(), Root = s.Model.ModelDir, MaxModelLen = s.Model.MaxModelLen,
                InputModalities = modalities,
            };
            var adapters = s.Models.Adapters.Select(a => new ModelCard
            {
                Id = a.Request.LoraName, Created = s.Started.ToUnixTimeSeconds(), Root = a.Request.LoraPath, MaxModelLen = s.Model.MaxModelLen,
                InputModalities = modalities, Parent = a.Parent,
            });
            return Json.WriteAsync(http.Response, new ModelList { Data = [card, .. adapters] }, ProtocolJson.Default.ModelList);
        });
        app.MapPost("/v1/completions", async http => { var s = Ready(); await CompletionsEndpoint.Handle(http, s, await Read<CompletionRequest>(http, s.Requests)); });
        app.MapPost("/v1/chat/completions", async http => { var s = Ready(); await ChatCompletionsEndpoint.Handle(http, s, await Read<ChatCompletionRequest>(http, s.Requests)); });
        StreamsEndpoints.Map(app, Ready);
        TranscriptionsEndpoint.Map(app, Ready);
        app.MapPost("/tokenize", async http => { var s = Ready(); await TokenizeEndpoints.Tokenize(http, s, await Read<TokenizeRequest>(http, s.Requests)); });
        app.MapPost("/detokenize", async http => { var s = Ready(); await TokenizeEndpoints.Detokenize(http, s, await Read<DetokenizeRequest>(http, s.Requests)); });
        app.MapGet("/metrics", async http =>
        {
            http.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            if (server() is { } s)
            {
                await s.Metrics.RefreshAsync(s.Engine);
                await http.Response.WriteAsync(s.Metrics.Registry.Export());
                if (s.Queue != null) await http.Response.WriteAsync(s.Queue.MetricsText());
            }
            await Metrics.DefaultRegistry.CollectAndExportAsTextAsync(http.Response.Body, http.RequestAborted);
        });
        PoolingRoutesOnGenerator.Map(app, () => server()?.ServedModelName);
        Pipeline.Host.ChatPage.ChatPageRoutes.Map(app);
        app.MapFallback(http => throw new ApiError(404, $"no route {http.Request.Method} {http.Request.Path}"));
    }

    public static void MapVersion(WebApplication app) =>
        app.MapGet("/version", http => Json.WriteAsync(http.Response, new VersionResponse(
            Assembly.GetEntryAssembly()?.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0] ?? "0"), ProtocolJson.Default.VersionResponse));

    public static async Task<JsonElement> Body(HttpContext http)
    {
        if (http.Request.ContentType is { } ct && !ct.Contains("json", StringComparison.OrdinalIgnoreCase))
            throw ApiError.BadRequest($"unsupported content type '{ct}': send application/json");
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
        var bytes = new ReadOnlyMemory<byte>(buffer.GetBuffer(), 0, (int)buffer.Length);
        JsonTextCheck.Check(bytes.Span, new JsonReaderOptions { MaxDepth = Json.ReadOptions.MaxDepth, CommentHandling = Json.ReadOptions.CommentHandling, AllowTrailingCommas = Json.ReadOptions.AllowTrailingCommas });
        using var doc = JsonDocument.Parse(bytes, Json.ReadOptions);
        return doc.RootElement.Clone();
    }

    /// <summary>The body as its protocol type, read by the server's <see cref="RequestReader"/>.</summary>
    public static async Task<T> Read<T>(HttpContext http, RequestReader reader) where T : ProtocolMessage =>
        reader.Read<T>(await Body(http), http.Items["request-id"] as string ?? "");

    public static void ConfigureLimits(WebApplicationBuilder builder, long maxBodyBytes)
    {
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = maxBodyBytes;
            k.Limits.MaxRequestHeadersTotalSize = 64 * 1024;
        });
        builder.Services.Configure<FormOptions>(o => o.MultipartBodyLengthLimit = maxBodyBytes);
    }
}

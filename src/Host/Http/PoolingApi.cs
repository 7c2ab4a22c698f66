using System.Text.Json;
using Pipeline.Actors.Pooling;
using Pipeline.Host.Protocol;
using Pipeline.Models.Architectures;
using Pipeline.Models.Pooling;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Host.Http;

/// <summary>Routes of a server running a pooling model: /v1/embeddings, /pooling, /classify, /v1/models, /health.</summary>
public static class PoolingApi
{
    /// <param name="Service">The engine, once the actor system has started it (null before: requests get 503).</param>
    /// <param name="Task">The served task (embed, classify, score, reward): what /pooling returns.</param>
    public sealed record Context(Func<AsyncPoolingEngine?> Service, HfTokenizer? Tokenizer, string ServedModelName, string ModelDir, int MaxModelLen, string Task, RequestReader Requests)
    {
        public AsyncPoolingEngine Engine => Service() ?? throw new ApiError(503, "the engine is starting; retry shortly");
    }

    public static void Map(WebApplication app, Context ctx)
    {
        app.MapGet("/health", http => { http.Response.StatusCode = ctx.Service() == null ? 503 : 200; return Task.CompletedTask; });
        ApiServer.MapVersion(app);
        app.MapGet("/v1/models", http => Json.WriteAsync(http.Response, w =>
        {
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            w.WriteStartObject();
            w.WriteString("id", ctx.ServedModelName);
            w.WriteString("object", "model");
            w.WriteString("owned_by", "pipeline");
            w.WriteString("root", ctx.ModelDir);
            w.WriteNumber("max_model_len", ctx.MaxModelLen);
            w.WriteEndObject();
            w.WriteEndArray();
        }));
        app.MapPost("/v1/embeddings", async http => await Embeddings(http, ctx, await ApiServer.Read<EmbeddingRequest>(http, ctx.Requests), "embedding"));
        app.MapPost("/pooling", async http => await Embeddings(http, ctx, await ApiServer.Read<EmbeddingRequest>(http, ctx.Requests), "pooling"));
        app.MapPost("/classify", async http => await Classify(http, ctx, await ApiServer.Read<ClassifyRequest>(http, ctx.Requests)));
        foreach (var route in new[] { "/score", "/v1/score" })
            app.MapPost(route, async http => await ScoreEndpoints.Score(http, ctx, await ApiServer.Read<ScoreRequest>(http, ctx.Requests)));
        foreach (var route in new[] { "/rerank", "/v1/rerank", "/v2/rerank" })
            app.MapPost(route, async http => await ScoreEndpoints.Rerank(http, ctx, await ApiServer.Read<RerankRequest>(http, ctx.Requests)));
        app.MapFallback(http => throw new ApiError(404, $"no route {http.Request.Method} {http.Request.Path} for a pooling model"));
    }

    internal static void CheckModel(Context ctx, ProtocolRequest req) => ApiError.CheckModel(req.Model, ctx.ServedModelName);

    /// <summary>The fields every pooling list response starts with.</summary>
    internal static void ListHeader(Utf8JsonWriter w, HttpContext http, string idPrefix, Context ctx)
    {
        w.WriteString("id", idPrefix + http.Items["request-id"]);
        w.WriteString("object", "list");
        w.WriteNumber("created", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        w.WriteString("model", ctx.ServedModelName);
    }

    /// <summary>Pooling usage: every token is a prompt token.</summary>
    internal static void Usage(Utf8JsonWriter w, int tokens)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", tokens);
        w.WriteNumber("total_tokens", tokens);
        w.WriteEndObject();
    }

    /// <summary>Each input through the engine as its own request; per input, the rows its task gives.</summary>
    internal static async Task<float[][][]> Run(Context ctx, PoolingTask task, IEnumerable<PoolingInput> inputs, PoolingParams p, CancellationToken ct)
    {
        try { return await Task.WhenAll(inputs.Select(i => ctx.Engine.EncodeAsync(new PoolingItem(i, task, p), ct))); }
        catch (PoolingException e) { throw ApiError.BadRequest(e.Message); }
        catch (ObjectDisposedException) { throw new ApiError(503, "the server is shutting down"); }
    }

    static async Task Embeddings(HttpContext http, Context ctx, EmbeddingRequest req, string objectName)
    {
        CheckModel(ctx, req);
        var format = req.Format;
        var inputs = PoolingInputs.Tokenize(req.Input!, ctx.Tokenizer, ctx.MaxModelLen);
        var p = new PoolingParams { Dimensions = req.Dimensions, Normalize = req.Normalize };
        // /pooling of a reward model gives its per-token (or per-step) rows; otherwise both routes embed.
        var task = objectName == "pooling" && ctx.Task == "reward" ? PoolingTask.Reward : PoolingTask.Embed;
        var rows = await Run(ctx, task, inputs.Select(i => new PoolingInput(i)), p, http.RequestAborted);
        int tokens = inputs.Sum(i => i.Length);
        await Json.WriteAsync(http.Response, w =>
        {
            ListHeader(w, http, "embd-", ctx);
            w.WriteStartArray("data");
            for (int i = 0; i < rows.Length; i++)
            {
                w.WriteStartObject();
                w.WriteNumber("index", i);
                w.WriteString("object", objectName);
                w.WritePropertyName(objectName == "pooling" ? "data" : "embedding");
                var values = rows[i].SelectMany(r => r).ToArray();
                if (format == "base64")
                {
                    var bytes = new byte[values.Length * 4];
                    Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
                    w.WriteStringValue(Convert.ToBase64String(bytes));
                }
                else if (task == PoolingTask.Reward)
                {
                    w.WriteStartArray();
                    foreach (var row in rows[i]) { w.WriteStartArray(); foreach (var x in row) w.WriteNumberValue(x); w.WriteEndArray(); }
                    w.WriteEndArray();
                }
                else { w.WriteStartArray(); foreach (var x in values) w.WriteNumberValue(x); w.WriteEndArray(); }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            Usage(w, tokens);
        });
    }

    static async Task Classify(HttpContext http, Context ctx, ClassifyRequest req)
    {
        CheckModel(ctx, req);
        var inputs = PoolingInputs.Tokenize(req.Input!, ctx.Tokenizer, ctx.MaxModelLen);
        var probs = (await Run(ctx, PoolingTask.Classify, inputs.Select(i => new PoolingInput(i)), new PoolingParams(), http.RequestAborted)).Select(r => r[0]).ToArray();
        var labels = ctx.Engine.Runner.Model.Config.Raw["id2label"] as System.Text.Json.Nodes.JsonObject;
        int tokens = inputs.Sum(i => i.Length);
        await Json.WriteAsync(http.Response, w =>
        {
            ListHeader(w, http, "classify-", ctx);
            w.WriteStartArray("data");
            for (int i = 0; i < probs.Length; i++)
            {
                int best = Array.IndexOf(probs[i], probs[i].Max());
                w.WriteStartObject();
                w.WriteNumber("index", i);
                w.WriteString("label", labels?[best.ToString()]?.GetValue<string>() ?? $"LABEL_{best}");
                w.WriteStartArray("probs"); foreach (var x in probs[i]) w.WriteNumberValue(x); w.WriteEndArray();
                w.WriteNumber("num_classes", probs[i].Length);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            Usage(w, tokens);
        });
    }
}

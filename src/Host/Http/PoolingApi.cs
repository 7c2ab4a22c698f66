using System.Text.Json.Serialization.Metadata;
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
        app.MapGet("/v1/models", http => Json.WriteAsync(http.Response,
            new ModelList { Data = [new ModelCard { Id = ctx.ServedModelName, Root = ctx.ModelDir, MaxModelLen = ctx.MaxModelLen }] }, ProtocolJson.Default.ModelList));
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

    /// <summary>A pooling list response: id, object "list", created, model, data, usage (every token a prompt token).</summary>
    internal static Task WriteList<T>(HttpContext http, Context ctx, string idPrefix, IReadOnlyList<T> data, int tokens, JsonTypeInfo<PoolingListResponse<T>> type) =>
        Json.WriteAsync(http.Response, new PoolingListResponse<T>
        {
            Id = idPrefix + http.Items["request-id"],
            Created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            Model = ctx.ServedModelName,
            Data = data,
            Usage = UsageInfo.Pooling(tokens),
        }, type);

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
        var values = rows.Select(r => Value(r, format, task)).ToList();
        int tokens = inputs.Sum(i => i.Length);
        if (objectName == "pooling")
            await WriteList(http, ctx, "embd-", values.Select((v, i) => new PoolingData { Index = i, Data = v }).ToList(), tokens, ProtocolJson.Default.PoolingListResponsePoolingData);
        else
            await WriteList(http, ctx, "embd-", values.Select((v, i) => new EmbeddingData { Index = i, Embedding = v }).ToList(), tokens, ProtocolJson.Default.PoolingListResponseEmbeddingData);
    }

    /// <summary>One input's pooled rows as the response carries them: base64 of the float32 bytes, per-token rows (reward), or one vector.</summary>
    static PooledValue Value(float[][] rows, string format, PoolingTask task)
    {
        var values = rows.SelectMany(r => r).ToArray();
        if (format == "base64")
        {
            var bytes = new byte[values.Length * 4];
            Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
            return new PooledValue(Base64: Convert.ToBase64String(bytes));
        }
        return task == PoolingTask.Reward ? new PooledValue(Rows: rows) : new PooledValue(Floats: values);
    }

    static async Task Classify(HttpContext http, Context ctx, ClassifyRequest req)
    {
        CheckModel(ctx, req);
        var inputs = PoolingInputs.Tokenize(req.Input!, ctx.Tokenizer, ctx.MaxModelLen);
        var probs = (await Run(ctx, PoolingTask.Classify, inputs.Select(i => new PoolingInput(i)), new PoolingParams(), http.RequestAborted)).Select(r => r[0]).ToArray();
        var labels = ctx.Engine.Runner.Model.Config.Raw["id2label"] as System.Text.Json.Nodes.JsonObject;
        var data = probs.Select((p, i) =>
        {
            int best = Array.IndexOf(p, p.Max());
            return new ClassificationData { Index = i, Label = labels?[best.ToString()]?.GetValue<string>() ?? $"LABEL_{best}", Probs = p };
        }).ToList();
        await WriteList(http, ctx, "classify-", data, inputs.Sum(i => i.Length), ProtocolJson.Default.PoolingListResponseClassificationData);
    }
}

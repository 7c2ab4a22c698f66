using System.Text.Json;
using Pipeline.Host.Protocol;
using Pipeline.Models.Architectures;
using Pipeline.Models.Pooling;

namespace Pipeline.Host.Http;

/// <summary>
/// vLLM's /score (/v1/score) and /rerank (/v1/rerank, /v2/rerank). A cross-encoder (one-label classification head)
/// reads each pair joined by the tokenizer's pair template; an embedding model scores a pair by the cosine
/// similarity of the two embeddings.
/// </summary>
public static class ScoreEndpoints
{
    public static async Task Score(HttpContext http, PoolingApi.Context ctx, ScoreRequest req)
    {
        PoolingApi.CheckModel(ctx, req);
        var (scores, tokens) = await ScorePairs(ctx, req.Pairs(), http.RequestAborted);
        await Json.WriteAsync(http.Response, w =>
        {
            PoolingApi.ListHeader(w, http, "score-", ctx);
            w.WriteStartArray("data");
            for (int i = 0; i < scores.Length; i++)
            {
                w.WriteStartObject();
                w.WriteNumber("index", i);
                w.WriteString("object", "score");
                w.WriteNumber("score", scores[i]);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            PoolingApi.Usage(w, tokens);
        });
    }

    public static async Task Rerank(HttpContext http, PoolingApi.Context ctx, RerankRequest req)
    {
        PoolingApi.CheckModel(ctx, req);
        var query = req.Query!;
        var docs = req.Documents!.Select(d => d.Text).ToList();
        int topN = req.TopN ?? docs.Count;
        bool returnDocs = req.ReturnDocuments ?? true;
        var (scores, tokens) = await ScorePairs(ctx, docs.Select(d => (query, d)).ToList(), http.RequestAborted);
        var ranked = Enumerable.Range(0, docs.Count).OrderByDescending(i => scores[i]).Take(topN).ToList();
        await Json.WriteAsync(http.Response, w =>
        {
            w.WriteString("id", "rerank-" + http.Items["request-id"]);
            w.WriteString("model", ctx.ServedModelName);
            w.WriteStartObject("usage"); w.WriteNumber("total_tokens", tokens); w.WriteEndObject();
            w.WriteStartArray("results");
            foreach (var i in ranked)
            {
                w.WriteStartObject();
                w.WriteNumber("index", i);
                if (returnDocs) { w.WriteStartObject("document"); w.WriteString("text", docs[i]); w.WriteEndObject(); }
                w.WriteNumber("relevance_score", scores[i]);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
    }

    static async Task<(float[] Scores, int Tokens)> ScorePairs(PoolingApi.Context ctx, List<(string A, string B)> pairs, CancellationToken ct)
    {
        var tok = ctx.Tokenizer ?? throw ApiError.BadRequest("this model has no tokenizer; scoring needs text");
        var model = ctx.Engine.Runner.Model;
        try
        {
            if (model.NumLabels == 1)
            {
                var inputs = pairs.Select(p => tok.EncodePair(p.A, p.B)).ToList();
                foreach (var i in inputs)
                    if (i.Ids.Length > ctx.MaxModelLen) throw ApiError.BadRequest($"a text pair has {i.Ids.Length} tokens, more than the model's maximum of {ctx.MaxModelLen}");
                var scores = await PoolingApi.Run(ctx, PoolingTask.Score, inputs.Select(i => new PoolingInput(i.Ids, i.TypeIds)), new PoolingParams(), ct);
                return (scores.Select(s => s[0][0]).ToArray(), inputs.Sum(i => i.Ids.Length));
            }
            if (model.NumLabels > 1) throw ApiError.BadRequest($"{model.Config.Architecture} has {model.NumLabels} labels; scoring needs a one-label cross-encoder or an embedding model");
            var texts = pairs.SelectMany(p => new[] { p.A, p.B }).Distinct().ToList();
            var ids = texts.Select(t => tok.Encode(t)).ToList();
            var vectors = await PoolingApi.Run(ctx, PoolingTask.Embed, ids.Select(i => new PoolingInput(i)), new PoolingParams { Normalize = true }, ct);
            var byText = texts.Select((t, i) => (t, vectors[i][0])).ToDictionary(x => x.t, x => x.Item2);
            return (pairs.Select(p => Dot(byText[p.A], byText[p.B])).ToArray(), ids.Sum(i => i.Length));
        }
        catch (PoolingException e) { throw ApiError.BadRequest(e.Message); }
    }

    static float Dot(float[] a, float[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return (float)s;
    }
}
